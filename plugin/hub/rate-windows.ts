// Keyed fixed windows (the shared store's rate counters in one process), next to the
// per-connection RateWindow of rate-window.ts.

/** A keyed counter's verdict. */
export interface RateDecision {
  allowed: boolean
  /** Points left in the current window (after this request when allowed). */
  remaining: number
  /** Time until the window resets, in ms. */
  resetMs: number
}

/** Entries of finished windows are swept once the map has grown by this many since the last sweep. */
const SWEEP_EVERY = 1000

/**
 * Fixed windows per key, each starting with the first point counted in it: what the shared
 * store's `consume` does in one process. A refused request takes nothing.
 */
export class RateWindows {
  readonly #windows = new Map<string, { start: number; used: number; windowMs: number }>()
  #sizeAtSweep = 0

  consume(key: string, points: number, limit: number, windowMs: number, now: number = Date.now()): RateDecision {
    let window = this.#windows.get(key)
    if (window === undefined || now - window.start >= window.windowMs) {
      window = { start: now, used: 0, windowMs }
      this.#windows.set(key, window)
      if (this.#windows.size - this.#sizeAtSweep >= SWEEP_EVERY) this.#sweep(now)
    }
    const resetMs = window.start + window.windowMs - now
    if (window.used + points > limit) return { allowed: false, remaining: Math.max(0, limit - window.used), resetMs }
    window.used += points
    return { allowed: true, remaining: limit - window.used, resetMs }
  }

  #sweep(now: number): void {
    for (const [key, window] of this.#windows) if (now - window.start >= window.windowMs) this.#windows.delete(key)
    this.#sizeAtSweep = this.#windows.size
  }
}
