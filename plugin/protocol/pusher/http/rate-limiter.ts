/**
 * Per-app rate limits of the HTTP API: fixed one-second windows, as Pusher and soketi count
 * them. Backend events cost one point per channel published to; reads one point per request.
 * The default store is this node's memory, so in a cluster each node allows the limit on its
 * own; a shared store (Redis, say) can implement `HttpRateLimiter`.
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

const WINDOW_MS = 1000
/** Entries of finished windows are swept once the map has grown by this many since the last sweep. */
const SWEEP_EVERY = 1000

export class MemoryRateLimiter implements HttpRateLimiter {
  readonly #windows = new Map<string, { start: number; used: number }>()
  #sizeAtSweep = 0

  consume(key: string, points: number, limit: number, now: number = Date.now()): RateDecision {
    let window = this.#windows.get(key)
    if (window === undefined || now - window.start >= WINDOW_MS) {
      window = { start: now, used: 0 }
      this.#windows.set(key, window)
      if (this.#windows.size - this.#sizeAtSweep >= SWEEP_EVERY) this.#sweep(now)
    }
    const resetMs = window.start + WINDOW_MS - now
    if (window.used + points > limit) return { allowed: false, remaining: Math.max(0, limit - window.used), resetMs }
    window.used += points
    return { allowed: true, remaining: limit - window.used, resetMs }
  }

  #sweep(now: number): void {
    for (const [key, window] of this.#windows) if (now - window.start >= WINDOW_MS) this.#windows.delete(key)
    this.#sizeAtSweep = this.#windows.size
  }
}
