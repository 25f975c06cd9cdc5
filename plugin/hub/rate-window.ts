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
