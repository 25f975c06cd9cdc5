/**
 * SIGTERM and SIGINT: a graceful stop, then exit 0. A second signal while stopping, or a stop
 * that outlives its budget, exits 1 at once.
 */
import type { StandaloneServer } from './standalone.js'

/** Beyond the grace period and the webhooks' flush, time allowed for close handshakes (2 s at most), listeners and Redis. */
const STOP_MARGIN_MS = 5_000

/** `webhookFlush`: the bound on sending queued webhooks at shutdown, in ms. */
export function handleSignals(
  server: StandaloneServer,
  gracePeriod: number,
  webhookFlush: number,
  exit: (code: number) => void = (code) => process.exit(code),
): void {
  const log = server.app.log
  let stopping = false
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ signal }, 'roomcast: second signal while shutting down; exiting now')
      exit(1)
      return
    }
    stopping = true
    log.info({ signal }, 'roomcast: signal received; draining')
    const overdue = setTimeout(
      () => {
        log.error({ gracePeriod }, 'roomcast: shutdown did not finish in time; exiting')
        exit(1)
      },
      gracePeriod + webhookFlush + STOP_MARGIN_MS,
    )
    overdue.unref()
    server.stop(gracePeriod).then(
      () => {
        clearTimeout(overdue)
        exit(0)
      },
      (err: unknown) => {
        clearTimeout(overdue)
        log.error({ err }, 'roomcast: shutdown failed')
        exit(1)
      },
    )
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
}
