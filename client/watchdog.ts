/**
 * Detects a silent server: fires when nothing arrived for `timeout` ms. Every frame calls
 * `touch()`, which only records the time; the one timer re-arms itself for the remaining time
 * when it finds recent activity, so the hot path never touches a timer.
 */
export class Watchdog {
  readonly #onSilence: () => void
  #timer: ReturnType<typeof setTimeout> | undefined
  #timeout = 0
  #lastActivity = 0

  constructor(onSilence: () => void) {
    this.#onSilence = onSilence
  }

  start(timeout: number): void {
    this.stop()
    this.#timeout = timeout
    this.#lastActivity = Date.now()
    this.#schedule(timeout)
  }

  touch(): void {
    this.#lastActivity = Date.now()
  }

  stop(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #schedule(delay: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      const silence = Date.now() - this.#lastActivity
      if (silence >= this.#timeout) this.#onSilence()
      else this.#schedule(this.#timeout - silence)
    }, delay)
  }
}
