/**
 * One webhook endpoint's queue. Its events leave in order, one request at a time, so a
 * receiver never sees `channel_vacated` before the `channel_occupied` it follows; a failed
 * request is retried (same bytes, same signature) before anything behind it is sent.
 * Different endpoints never wait for each other.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { ResolvedWebhookOptions } from './options.js'
import { signedBody, type SignedBody, type WebhookEvent } from './payload.js'
import { parseRetryAfter, retryDelay } from './retry.js'

/** Where an endpoint's requests go and how they are signed; refreshed from the app's config on every event. */
export interface EndpointTarget {
  url: string
  headers: Record<string, string>
  appId: string
  key: string
  secret: string
}

/** What an endpoint reports to its sender, which keeps the counters. */
export interface EndpointReport {
  attempted(): void
  delivered(events: number): void
  failedAttempt(): void
  retrying(): void
  gaveUp(events: number): void
}

interface Batch {
  signed: SignedBody
  count: number
  attempts: number
  firstAttemptAt: number
}

interface Queued {
  event: WebhookEvent
  timeMs: number
}

export class WebhookEndpoint {
  target: EndpointTarget
  readonly #options: ResolvedWebhookOptions
  readonly #report: EndpointReport
  readonly #log: FastifyBaseLogger
  readonly #onIdle: () => void
  #events: Queued[] = []
  #batch: Batch | undefined
  #windowTimer: NodeJS.Timeout | undefined
  #retryTimer: NodeJS.Timeout | undefined
  #request: AbortController | undefined
  #closing = false

  constructor(target: EndpointTarget, options: ResolvedWebhookOptions, report: EndpointReport, log: FastifyBaseLogger, onIdle: () => void) {
    this.target = target
    this.#options = options
    this.#report = report
    this.#log = log
    this.#onIdle = onIdle
  }

  /** Events waiting or in flight. */
  get size(): number {
    return this.#events.length + (this.#batch?.count ?? 0)
  }

  push(event: WebhookEvent, timeMs: number): void {
    this.#events.push({ event, timeMs })
    if (this.#batch !== undefined) return
    if (this.#options.batchWindowMs === 0 || this.#events.length >= this.#options.maxBatchSize) this.#next()
    else this.#windowTimer ??= setTimeout(() => this.#next(), this.#options.batchWindowMs)
  }

  /** Sends what is queued now, once each: no more waiting for windows or retries. */
  close(): void {
    this.#closing = true
    if (this.#retryTimer !== undefined) {
      clearTimeout(this.#retryTimer)
      this.#retryTimer = undefined
      this.#giveUp('the server is closing')
    }
    if (this.#batch === undefined) this.#next()
  }

  /** Cuts the request in flight (end of the close grace period); it counts as given up. */
  abort(): void {
    this.#request?.abort()
  }

  /** Drops everything still queued (after `abort`), reporting it given up. */
  discard(): number {
    const count = this.#events.length
    this.#events = []
    clearTimeout(this.#windowTimer)
    if (count > 0) this.#report.gaveUp(count)
    return count
  }

  #next(): void {
    clearTimeout(this.#windowTimer)
    this.#windowTimer = undefined
    if (this.#batch !== undefined) return
    if (this.#events.length === 0) {
      this.#onIdle()
      return
    }
    // Without a batching window each request carries one event (Pusher's default), even when
    // several piled up behind a slow request.
    const taken = this.#events.splice(0, this.#options.batchWindowMs === 0 ? 1 : this.#options.maxBatchSize)
    // Pusher's time_ms is when the event happened, not when the request goes out.
    const signed = signedBody(this.target, taken[0]!.timeMs, taken.map((queued) => queued.event))
    this.#batch = { signed, count: taken.length, attempts: 0, firstAttemptAt: Date.now() }
    void this.#attempt()
  }

  async #attempt(): Promise<void> {
    const batch = this.#batch!
    this.#retryTimer = undefined
    batch.attempts++
    this.#report.attempted()
    const controller = new AbortController()
    this.#request = controller
    const timeout = setTimeout(() => controller.abort(), this.#options.requestTimeoutMs)
    let failure: string
    let retryAfter: number | undefined
    try {
      const response = await fetch(this.target.url, {
        method: 'POST',
        // The endpoint's own headers first: the signed ones below always win.
        headers: { ...this.target.headers, 'content-type': 'application/json', 'x-pusher-key': batch.signed.key, 'x-pusher-signature': batch.signed.signature },
        body: batch.signed.body,
        redirect: 'manual',
        signal: controller.signal,
      })
      await response.body?.cancel().catch(() => {})
      if (response.status >= 200 && response.status < 300) {
        this.#batch = undefined
        this.#report.delivered(batch.count)
        this.#next()
        return
      }
      failure = `HTTP ${response.status}`
      retryAfter = parseRetryAfter(response.headers.get('retry-after'))
    } catch (err) {
      failure = controller.signal.aborted ? (this.#closing ? 'aborted at shutdown' : `no answer within ${this.#options.requestTimeoutMs} ms`) : String((err as Error).cause ?? (err as Error).message)
    } finally {
      clearTimeout(timeout)
      this.#request = undefined
    }
    this.#report.failedAttempt()
    const delay = this.#closing ? undefined : retryDelay(this.#options.retry, batch.attempts, Date.now() - batch.firstAttemptAt, retryAfter)
    if (delay === undefined) {
      this.#giveUp(failure)
      return
    }
    this.#report.retrying()
    this.#log.warn({ url: this.target.url, appId: this.target.appId, failure, attempt: batch.attempts, retryInMs: delay }, 'roomcast: webhook request failed; retrying')
    this.#retryTimer = setTimeout(() => void this.#attempt(), delay)
  }

  #giveUp(failure: string): void {
    const batch = this.#batch!
    this.#batch = undefined
    this.#report.gaveUp(batch.count)
    this.#log.error({ url: this.target.url, appId: this.target.appId, failure, attempts: batch.attempts, events: batch.count }, 'roomcast: webhook request failed; giving up on its events')
    this.#next()
  }
}
