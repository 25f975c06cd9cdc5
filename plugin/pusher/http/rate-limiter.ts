/**
 * Per-app rate limits of the HTTP API: fixed one-second windows, as Pusher and soketi count
 * them. Backend events cost one point per channel published to; reads one point per request.
 * This store is this node's memory, so in a cluster each node would allow the limit on its
 * own: the default counts in the adapter's shared store instead (Redis with the Redis adapter).
 */
import type { Adapter, SharedStore } from '../../hub/adapter.js'
import { RateWindows, type RateDecision } from '../../hub/rate-windows.js'
import { InvalidOptionError } from '../../hub/errors.js'

export type { RateDecision }

export interface HttpRateLimiter {
  /** Takes `points` from `key`'s budget of `limit` per second; a refused request takes nothing. */
  consume(key: string, points: number, limit: number): RateDecision | Promise<RateDecision>
}

/** Pusher's window: limits are per second. */
export const RATE_WINDOW_MS = 1000

export interface RateLimiterOptions {
  /** Length of a window, in ms. Default 1000: the app limits are per second, as Pusher counts them. */
  windowMs?: number
}

export function resolveWindow(options: RateLimiterOptions): number {
  const windowMs = options.windowMs ?? RATE_WINDOW_MS
  if (!Number.isFinite(windowMs) || windowMs <= 0) throw new InvalidOptionError('a rate limiter windowMs must be a positive number')
  return windowMs
}

export class MemoryRateLimiter implements HttpRateLimiter {
  readonly #windows = new RateWindows()
  readonly #windowMs: number

  constructor(options: RateLimiterOptions = {}) {
    this.#windowMs = resolveWindow(options)
  }

  consume(key: string, points: number, limit: number, now: number = Date.now()): RateDecision {
    return this.#windows.consume(key, points, limit, this.#windowMs, now)
  }
}

/** Counts in a shared store (the adapter's by default), so a limit holds for the whole cluster. */
export class StoreRateLimiter implements HttpRateLimiter {
  readonly #store: SharedStore
  readonly #prefix: string
  readonly #windowMs: number

  constructor(store: SharedStore, prefix: string, options: RateLimiterOptions = {}) {
    this.#store = store
    this.#prefix = prefix
    this.#windowMs = resolveWindow(options)
  }

  consume(key: string, points: number, limit: number): Promise<RateDecision> {
    return this.#store.consume(this.#prefix + key, points, limit, this.#windowMs)
  }
}

/** The default: the adapter's shared store, or this node's memory for an adapter without one. */
export function defaultHttpRateLimiter(adapter: Adapter): HttpRateLimiter {
  return adapter.store === undefined ? new MemoryRateLimiter() : new StoreRateLimiter(adapter.store, 'pusher-rate:')
}
