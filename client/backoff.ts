export interface BackoffOptions {
  /** Upper bound of the first delay, in ms. */
  minDelay: number
  /** Largest upper bound any delay can reach, in ms. */
  maxDelay: number
  /** Growth of the upper bound per failed attempt. */
  factor: number
}

/**
 * Exponential backoff with full jitter: attempt n waits a uniformly random time in
 * [0, min(maxDelay, minDelay * factor^n)]. Randomizing the whole interval spreads the
 * reconnects of many clients after a server restart instead of having them arrive in waves.
 */
export class Backoff {
  readonly #options: BackoffOptions
  readonly #random: () => number
  #attempt = 0

  constructor(options: BackoffOptions, random: () => number = Math.random) {
    this.#options = options
    this.#random = random
  }

  /** Attempts made since the last reset. */
  get attempt(): number {
    return this.#attempt
  }

  /** The upper bound of the delay before attempt `attempt` (0-based). */
  ceiling(attempt: number): number {
    const { minDelay, maxDelay, factor } = this.#options
    return Math.min(maxDelay, minDelay * factor ** attempt)
  }

  /** The delay before the next attempt; counts the attempt. */
  next(): number {
    const delay = Math.floor(this.#random() * this.ceiling(this.#attempt))
    this.#attempt++
    return delay
  }

  reset(): void {
    this.#attempt = 0
  }
}
