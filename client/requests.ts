import { ErrorCode } from '../shared/codes.js'
import { RoomcastError } from '../shared/errors.js'

interface Pending {
  event: string
  resolve: (value: unknown) => void
  reject: (error: RoomcastError) => void
  timer: ReturnType<typeof setTimeout>
  /** False while the request waits in the offline queue: a dropped link cannot have lost it. */
  sent: boolean
}

/**
 * Requests waiting for their `ack` or `error`, by id. Each has its own deadline, counted from
 * the call (a request queued while offline spends its time in the queue too).
 */
export class RequestTracker {
  readonly #pending = new Map<number, Pending>()
  #nextId = 1

  /** Opens a request; `onTimeout` runs after the promise rejected with `timeout`. */
  open(event: string, timeout: number, onTimeout?: (id: number) => void): { id: number; reply: Promise<unknown> } {
    const id = this.#nextId
    this.#nextId = id === Number.MAX_SAFE_INTEGER ? 1 : id + 1
    const reply = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new RoomcastError(ErrorCode.Timeout, `no reply to "${event}" within ${timeout} ms`))
        onTimeout?.(id)
      }, timeout)
      this.#pending.set(id, { event, resolve, reject, timer, sent: false })
    })
    return { id, reply }
  }

  has(id: number): boolean {
    return this.#pending.has(id)
  }

  /** Whether `id` was issued by this tracker (a late reply to a timed-out request). */
  issued(id: number): boolean {
    return id > 0 && id < this.#nextId
  }

  markSent(id: number): void {
    const pending = this.#pending.get(id)
    if (pending !== undefined) pending.sent = true
  }

  resolve(id: number, value: unknown): boolean {
    const pending = this.#take(id)
    pending?.resolve(value)
    return pending !== undefined
  }

  reject(id: number, error: RoomcastError): boolean {
    const pending = this.#take(id)
    pending?.reject(error)
    return pending !== undefined
  }

  /** Rejects the requests already on the wire (their link died), or every request. */
  rejectAll(error: RoomcastError, onlySent: boolean): void {
    for (const [id, pending] of [...this.#pending]) {
      if (onlySent && !pending.sent) continue
      this.#take(id)
      pending.reject(error)
    }
  }

  get size(): number {
    return this.#pending.size
  }

  #take(id: number): Pending | undefined {
    const pending = this.#pending.get(id)
    if (pending === undefined) return undefined
    clearTimeout(pending.timer)
    this.#pending.delete(id)
    return pending
  }
}
