/** A message waiting for the connection: an emit, or a request when `id` is set. */
export interface QueuedMessage {
  event: string
  /** The whole envelope as JSON, serialized once when the message was made. */
  text: string
  id?: number
}

/**
 * The bounded offline queue: messages sent while the client is not connected wait here and
 * go out, in order, right after the next successful connection. A full queue refuses new
 * messages instead of dropping old ones, so the caller always learns what was not sent.
 */
export class Outbox {
  readonly limit: number
  #messages: QueuedMessage[] = []

  constructor(limit: number) {
    this.limit = limit
  }

  get size(): number {
    return this.#messages.length
  }

  /** Queues a message; false when the queue is full (or disabled). */
  push(message: QueuedMessage): boolean {
    if (this.#messages.length >= this.limit) return false
    this.#messages.push(message)
    return true
  }

  /** Forgets a queued request (it timed out before it could be sent). */
  drop(id: number): void {
    this.#messages = this.#messages.filter((message) => message.id !== id)
  }

  /** Empties the queue, returning its messages in order. */
  take(): QueuedMessage[] {
    const messages = this.#messages
    this.#messages = []
    return messages
  }
}
