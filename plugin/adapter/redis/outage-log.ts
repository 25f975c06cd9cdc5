import type { FastifyBaseLogger } from 'fastify'

/**
 * Logs Redis trouble without flooding: the first failure of a kind is a warning, the rest of the
 * streak are debug lines (they are counted in the adapter's stats), and the recovery is one info
 * line with how many failed in between.
 */
export class OutageLog {
  readonly #log: () => FastifyBaseLogger | undefined
  readonly #streaks = new Map<string, number>()

  constructor(log: () => FastifyBaseLogger | undefined) {
    this.#log = log
  }

  failed(what: string, err: Error, details?: Record<string, unknown>): void {
    const streak = (this.#streaks.get(what) ?? 0) + 1
    this.#streaks.set(what, streak)
    const log = this.#log()
    if (log === undefined) return
    if (streak === 1) log.warn({ err, ...details }, `roomcast: redis adapter: ${what} failed`)
    else log.debug({ err, streak, ...details }, `roomcast: redis adapter: ${what} failed again`)
  }

  recovered(what: string): void {
    const streak = this.#streaks.get(what)
    if (streak === undefined) return
    this.#streaks.delete(what)
    this.#log()?.info({ failures: streak }, `roomcast: redis adapter: ${what} works again`)
  }
}
