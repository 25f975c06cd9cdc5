/**
 * How webhooks are sent, for every app: batching, the queue bound, timeouts and the retry
 * policy. The endpoints themselves are per app (`PusherAppConfig.webhooks`).
 */

export interface RetryPolicy {
  /** Attempts per request, the first one included. Default 10. */
  maxAttempts: number
  /** Delay before the first retry, in ms; each further retry doubles it. Default 1 000. */
  initialDelayMs: number
  /** Ceiling of one delay, in ms. Default 60 000. */
  maxDelayMs: number
  /** No retry starts later than this after the first attempt, in ms. Default 300 000 (Pusher retries for 5 minutes). */
  maxElapsedMs: number
}

export interface WebhookOptions {
  /**
   * Events of one endpoint collected for this long, in ms, go out in one request. Default 0:
   * one request per event, as Pusher sends them unless batch webhooks are enabled.
   */
  batchWindowMs?: number
  /** Most events in one request when `batchWindowMs` is set (without a window every request carries one). Default 100. */
  maxBatchSize?: number
  /**
   * Events waiting (or in flight) for one endpoint. Past it that endpoint's new events are
   * dropped, counted and logged, while the other endpoints go on: an endpoint sends one
   * request at a time and retries it for minutes, so a dead receiver would otherwise fill the
   * whole queue. Default 1 000.
   */
  maxQueuedEventsPerEndpoint?: number
  /** Events waiting (or in flight) across all endpoints: a backstop for many endpoints failing at once. Default 10 000. */
  maxQueuedEvents?: number
  /** Time one request may take before it counts as failed, in ms. Default 10 000. */
  requestTimeoutMs?: number
  retry?: Partial<RetryPolicy>
  /** At shutdown, time given to queued events (one attempt each), in ms. Default 2 000. */
  closeTimeoutMs?: number
  /**
   * The `data` of `client_event` webhooks: `string` (Pusher's shape: the JSON text of what the
   * client sent) or `as-sent` (soketi's: the value as the client sent it, so an object stays an
   * object). Default `string`.
   */
  clientEventData?: ClientEventDataShape
}

export type ClientEventDataShape = 'string' | 'as-sent'

export interface ResolvedWebhookOptions {
  batchWindowMs: number
  maxBatchSize: number
  maxQueuedEventsPerEndpoint: number
  maxQueuedEvents: number
  requestTimeoutMs: number
  retry: RetryPolicy
  closeTimeoutMs: number
  clientEventData: ClientEventDataShape
}

/** Fills in the defaults of options checked against `WebhookOptionsSchema` (at registration, with all the plugin's options). */
export function resolveWebhookOptions(options: WebhookOptions = {}): ResolvedWebhookOptions {
  const retry = options.retry ?? {}
  return {
    batchWindowMs: options.batchWindowMs ?? 0,
    maxBatchSize: options.maxBatchSize ?? 100,
    maxQueuedEventsPerEndpoint: options.maxQueuedEventsPerEndpoint ?? 1_000,
    maxQueuedEvents: options.maxQueuedEvents ?? 10_000,
    requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
    retry: {
      maxAttempts: retry.maxAttempts ?? 10,
      initialDelayMs: retry.initialDelayMs ?? 1_000,
      maxDelayMs: retry.maxDelayMs ?? 60_000,
      maxElapsedMs: retry.maxElapsedMs ?? 300_000,
    },
    closeTimeoutMs: options.closeTimeoutMs ?? 2_000,
    clientEventData: options.clientEventData ?? 'string',
  }
}
