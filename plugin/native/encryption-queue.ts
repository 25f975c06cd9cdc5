/**
 * Runs per-socket encryption work a bounded number of tasks per event-loop turn, so a room
 * with many encrypted members does not hold the loop for one long fan-out. Tasks run in the
 * order they were queued, which keeps each connection's frames (and nonce counters) in order.
 */
export class EncryptionQueue {
  readonly #perTurn: number
  #tasks: Array<() => void> = []
  #next = 0
  #scheduled = false

  constructor(perTurn: number) {
    this.#perTurn = perTurn
  }

  push(task: () => void): void {
    this.#tasks.push(task)
    if (!this.#scheduled) {
      this.#scheduled = true
      setImmediate(this.#run)
    }
  }

  readonly #run = (): void => {
    const end = Math.min(this.#tasks.length, this.#next + this.#perTurn)
    while (this.#next < end) {
      const task = this.#tasks[this.#next]!
      this.#tasks[this.#next++] = noop
      task()
    }
    if (this.#next < this.#tasks.length) {
      setImmediate(this.#run)
      return
    }
    this.#tasks = []
    this.#next = 0
    this.#scheduled = false
  }
}

function noop(): void {}
