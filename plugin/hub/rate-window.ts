export interface RateLimitOptions {
  /** Messages allowed per window. Default 100. */
  max: number
  /** Window length in ms. Default 1000. */
  windowMs: number
}

/**
 * A fixed-window message counter per connection: two numbers, no timers, nothing allocated per
 * message. Fixed windows allow a burst of up to twice the limit across a window edge, which is
 * acceptable for abuse protection.
 */
export class RateWindow {
  readonly #max: number
  readonly #windowMs: number
  #start = 0
  #count = 0

  constructor(max: number, windowMs: number) {
    this.#max = max
    this.#windowMs = windowMs
  }

  /** Counts one message; false when it is over the limit. */
  take(now: number): boolean {
    if (now - this.#start >= this.#windowMs) {
      this.#start = now
      this.#count = 0
    }
    return ++this.#count <= this.#max
  }
}

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
