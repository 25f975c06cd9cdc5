/**
 * Per-app rate limits of the HTTP API: fixed one-second windows, as Pusher and soketi count
 * them. Backend events cost one point per channel published to; reads one point per request.
 * This store is this node's memory, so in a cluster each node would allow the limit on its
 * own: with the Redis adapter the default is `RedisRateLimiter` instead.
 */

export interface RateDecision {
  allowed: boolean
  /** Points left in the current window (after this request when allowed). */
  remaining: number
  /** Time until the window resets, in ms. */
  resetMs: number
}

export interface HttpRateLimiter {
  /** Takes `points` from `key`'s budget of `limit` per second; a refused request takes nothing. */
  consume(key: string, points: number, limit: number): RateDecision | Promise<RateDecision>
}

/** Pusher's window: limits are per second. */
export const RATE_WINDOW_MS = 1000
/** Entries of finished windows are swept once the map has grown by this many since the last sweep. */
const SWEEP_EVERY = 1000

export interface RateLimiterOptions {
  /** Length of a window, in ms. Default 1000: the app limits are per second, as Pusher counts them. */
  windowMs?: number
}

export function resolveWindow(options: RateLimiterOptions): number {
  const windowMs = options.windowMs ?? RATE_WINDOW_MS
  if (!Number.isFinite(windowMs) || windowMs <= 0) throw new TypeError('roomcast: a rate limiter windowMs must be a positive number')
  return windowMs
}

export class MemoryRateLimiter implements HttpRateLimiter {
  readonly #windows = new Map<string, { start: number; used: number }>()
  readonly #windowMs: number
  #sizeAtSweep = 0

  constructor(options: RateLimiterOptions = {}) {
    this.#windowMs = resolveWindow(options)
  }

  consume(key: string, points: number, limit: number, now: number = Date.now()): RateDecision {
    let window = this.#windows.get(key)
    if (window === undefined || now - window.start >= this.#windowMs) {
      window = { start: now, used: 0 }
      this.#windows.set(key, window)
      if (this.#windows.size - this.#sizeAtSweep >= SWEEP_EVERY) this.#sweep(now)
    }
    const resetMs = window.start + this.#windowMs - now
    if (window.used + points > limit) return { allowed: false, remaining: Math.max(0, limit - window.used), resetMs }
    window.used += points
    return { allowed: true, remaining: limit - window.used, resetMs }
  }

  #sweep(now: number): void {
    for (const [key, window] of this.#windows) if (now - window.start >= this.#windowMs) this.#windows.delete(key)
    this.#sizeAtSweep = this.#windows.size
  }
}
