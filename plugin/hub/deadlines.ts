/**
 * Deadlines that all lie the same delay after they were set (the authentication timeout of
 * every new connection), kept in one FIFO behind a single timer. A connection storm then costs
 * one array slot per connection instead of a timer each. A deadline that no longer matters is
 * cancelled by its ticket, which empties its slot: the queue must not keep what it waits on (a
 * closed connection's whole object graph) alive until the delay is over.
 */
export class DeadlineQueue<T> {
  readonly #delay: number
  readonly #expire: (item: T) => void
  #items: Array<T | undefined> = []
  #due: number[] = []
  #head = 0
  /** The ticket of `#items[0]`: tickets keep counting across resets and compactions. */
  #base = 0
  #timer: NodeJS.Timeout | undefined

  constructor(delay: number, expire: (item: T) => void) {
    this.#delay = delay
    this.#expire = expire
  }

  /**
   * `expire(item)` runs once `delay` ms have passed, unless `cancel` is called with the ticket
   * returned. Equal delays keep the queue in order.
   */
  add(item: T): number {
    this.#items.push(item)
    this.#due.push(performance.now() + this.#delay)
    if (this.#timer === undefined) this.#arm()
    return this.#base + this.#items.length - 1
  }

  /** Forgets a pending deadline (its item is no longer held); a ticket already expired or cancelled is ignored. */
  cancel(ticket: number): void {
    const index = ticket - this.#base
    if (index >= this.#head && index < this.#items.length) this.#items[index] = undefined
  }

  /** Pending deadlines (cancelled ones included until their time comes). */
  get size(): number {
    return this.#items.length - this.#head
  }

  /** Drops every pending deadline and the timer. */
  clear(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#base += this.#items.length
    this.#items = []
    this.#due = []
    this.#head = 0
  }

  #arm(): void {
    const wait = Math.max(0, this.#due[this.#head]! - performance.now())
    this.#timer = setTimeout(() => this.#fire(), Math.ceil(wait))
    // Never what keeps a process alive: the sockets whose deadlines these are do that.
    this.#timer.unref()
  }

  #fire(): void {
    this.#timer = undefined
    const now = performance.now()
    while (this.#head < this.#items.length && this.#due[this.#head]! <= now) {
      const item = this.#items[this.#head]
      this.#items[this.#head] = undefined
      this.#head++
      if (item === undefined) continue
      try {
        this.#expire(item)
      } catch {
        // One item's failure must not strand the rest of the queue; the callback logs its own.
      }
    }
    if (this.#head === this.#items.length) {
      this.#base += this.#items.length
      this.#items = []
      this.#due = []
      this.#head = 0
      return
    }
    // Compact now and then so a long-lived queue does not keep a growing, mostly empty prefix.
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#base += this.#head
      this.#items = this.#items.slice(this.#head)
      this.#due = this.#due.slice(this.#head)
      this.#head = 0
    }
    this.#arm()
  }
}
