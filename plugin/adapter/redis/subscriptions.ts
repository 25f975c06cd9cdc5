import { isClusterClient, type BusConnection } from './connection.js'

/** What subscribing needs of a connection; both `Redis` and `Cluster` have it. */
interface SubscribingClient {
  status: string
  subscribe(...channels: string[]): Promise<unknown>
  unsubscribe(...channels: string[]): Promise<unknown>
  ssubscribe(...channels: string[]): Promise<unknown>
  sunsubscribe(...channels: string[]): Promise<unknown>
}

/** Largest number of channels in one SUBSCRIBE / UNSUBSCRIBE. */
const CHUNK = 1_000

/** First wait before a failed SUBSCRIBE is sent again; it doubles while failures go on, up to the ceiling. */
const RETRY_DELAY_MS = 100
const MAX_RETRY_DELAY_MS = 5_000

/**
 * The channels this node needs, kept in step with Redis. The adapter says what it wants
 * (`add`/`remove`); changes made in the same tick go out together (a burst of joins is one
 * SUBSCRIBE, a join followed by a leave is nothing). After every (re)connect `restore`
 * subscribes to exactly what is still wanted, so a Redis restart loses nothing and
 * resurrects nothing.
 *
 * A SUBSCRIBE that fails while the connection stays up (a refusal, a timeout) is sent again
 * after a short backoff, for as long as the channel is still wanted; a reconnect sends
 * everything anyway.
 *
 * On a Cluster the commands are SSUBSCRIBE/SUNSUBSCRIBE, one channel per command: channels hash
 * to different slots and a sharded subscription must name channels of a single slot.
 */
export class Subscriptions {
  readonly #client: SubscribingClient
  readonly #sharded: boolean
  readonly #onError: (error: Error) => void
  readonly #wanted = new Set<string>()
  /** What has been sent to Redis on the current connection (and not failed). */
  readonly #active = new Set<string>()
  /** What Redis has confirmed on the current connection: messages published from now on arrive. */
  readonly #confirmed = new Set<string>()
  #dirty = new Set<string>()
  #scheduled = false
  /** Bumped by `restore`; a failure from an older connection must not touch the new state. */
  #epoch = 0
  readonly #pending = new Set<Promise<unknown>>()
  /** Channels whose SUBSCRIBE failed on the current connection, sent again when the timer fires. */
  readonly #failed = new Set<string>()
  #retryTimer: NodeJS.Timeout | undefined
  #retryDelay = RETRY_DELAY_MS
  /** Who waits in `untilListening`, per channel: woken when it is confirmed or no longer wanted. */
  readonly #waiters = new Map<string, Set<() => void>>()

  constructor(connection: BusConnection, onError: (error: Error) => void) {
    this.#client = connection as unknown as SubscribingClient
    this.#sharded = isClusterClient(connection)
    this.#onError = onError
  }

  get size(): number {
    return this.#wanted.size
  }

  has(channel: string): boolean {
    return this.#wanted.has(channel)
  }

  /**
   * Whether Redis has confirmed the subscription on the live connection: a message published
   * after this moment reaches this node (unless the connection drops).
   */
  listening(channel: string): boolean {
    return this.#confirmed.has(channel) && this.#client.status === 'ready'
  }

  /**
   * Resolves true once Redis has confirmed the subscription (at once when it has), or when the
   * channel is not wanted (nothing to wait for); false when `timeoutMs` passes first, and at
   * once while the connection is down (no confirmation can come before it is back).
   */
  untilListening(channel: string, timeoutMs: number): Promise<boolean> {
    if (this.listening(channel) || !this.#wanted.has(channel)) return Promise.resolve(true)
    if (this.#client.status !== 'ready') return Promise.resolve(false)
    return new Promise((resolve) => {
      let waiters = this.#waiters.get(channel)
      if (waiters === undefined) this.#waiters.set(channel, (waiters = new Set()))
      const settle = (ready: boolean): void => {
        clearTimeout(timer)
        waiters.delete(wake)
        if (waiters.size === 0 && this.#waiters.get(channel) === waiters) this.#waiters.delete(channel)
        resolve(ready)
      }
      const wake = (): void => {
        if (this.listening(channel) || !this.#wanted.has(channel)) settle(true)
      }
      const timer = setTimeout(() => settle(false), timeoutMs)
      waiters.add(wake)
    })
  }

  add(channel: string): void {
    if (this.#wanted.has(channel)) return
    this.#wanted.add(channel)
    this.#mark(channel)
  }

  remove(channel: string): void {
    if (!this.#wanted.delete(channel)) return
    this.#mark(channel)
    this.#wake(channel)
  }

  /** The connection is new (first connect or reconnect): it has no subscriptions yet. */
  restore(): void {
    this.#epoch++
    this.#cancelRetry()
    this.#active.clear()
    this.#confirmed.clear()
    for (const channel of this.#wanted) this.#dirty.add(channel)
    this.#flush()
  }

  /** Resolves when every SUBSCRIBE / UNSUBSCRIBE sent so far has been answered (or has failed). */
  async settled(): Promise<void> {
    if (this.#scheduled) this.#flush()
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending])
  }

  /** Forgets everything (closing): nothing more is sent. */
  clear(): void {
    this.#cancelRetry()
    this.#wanted.clear()
    for (const channel of [...this.#waiters.keys()]) this.#wake(channel)
    this.#dirty.clear()
    this.#active.clear()
    this.#confirmed.clear()
  }

  /** Sends the failed SUBSCRIBEs again later, doubling the wait while they keep failing. */
  #retryLater(channels: readonly string[]): void {
    for (const channel of channels) this.#failed.add(channel)
    if (this.#retryTimer !== undefined) return
    const delay = this.#retryDelay
    this.#retryDelay = Math.min(this.#retryDelay * 2, MAX_RETRY_DELAY_MS)
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined
      const due = [...this.#failed]
      this.#failed.clear()
      for (const channel of due) if (this.#wanted.has(channel) && !this.#active.has(channel)) this.#mark(channel)
    }, delay)
    // A retry never keeps the process alive: closing clears it, and an exiting process needs no subscriptions.
    this.#retryTimer.unref()
  }

  #cancelRetry(): void {
    clearTimeout(this.#retryTimer)
    this.#retryTimer = undefined
    this.#failed.clear()
    this.#retryDelay = RETRY_DELAY_MS
  }

  #wake(channel: string): void {
    const waiters = this.#waiters.get(channel)
    if (waiters !== undefined) for (const wake of [...waiters]) wake()
  }

  #mark(channel: string): void {
    this.#dirty.add(channel)
    if (!this.#scheduled) {
      this.#scheduled = true
      queueMicrotask(() => this.#flush())
    }
  }

  #flush(): void {
    this.#scheduled = false
    if (this.#dirty.size === 0) return
    // While Redis is away nothing can be sent; `restore` will bring the wanted set back.
    if (this.#client.status !== 'ready') {
      this.#dirty.clear()
      return
    }
    const subscribe: string[] = []
    const unsubscribe: string[] = []
    for (const channel of this.#dirty) {
      if (this.#wanted.has(channel)) {
        if (!this.#active.has(channel)) {
          this.#active.add(channel)
          subscribe.push(channel)
        }
      } else if (this.#active.delete(channel)) {
        this.#confirmed.delete(channel)
        unsubscribe.push(channel)
      }
    }
    this.#dirty.clear()
    if (subscribe.length > 0) this.#send(subscribe, true)
    if (unsubscribe.length > 0) this.#send(unsubscribe, false)
  }

  #send(channels: string[], subscribing: boolean): void {
    const epoch = this.#epoch
    const groups: string[][] = []
    if (this.#sharded) for (const channel of channels) groups.push([channel])
    else for (let i = 0; i < channels.length; i += CHUNK) groups.push(channels.slice(i, i + CHUNK))
    for (const group of groups) {
      let sent: Promise<unknown>
      try {
        if (this.#sharded) sent = subscribing ? this.#client.ssubscribe(...group) : this.#client.sunsubscribe(...group)
        else sent = subscribing ? this.#client.subscribe(...group) : this.#client.unsubscribe(...group)
      } catch (err) {
        sent = Promise.reject(err)
      }
      const tracked: Promise<unknown> = sent.then(
        () => {
          if (!subscribing || epoch !== this.#epoch) return
          for (const channel of group) {
            if (!this.#active.has(channel)) continue
            this.#confirmed.add(channel)
            this.#wake(channel)
          }
          if (this.#failed.size === 0) this.#retryDelay = RETRY_DELAY_MS
        },
        (err: unknown) => {
          // A failed SUBSCRIBE is not active. On the same connection it is sent again after a
          // while (if still wanted); a new connection's `restore` sends it anyway.
          if (subscribing && epoch === this.#epoch) {
            for (const channel of group) this.#active.delete(channel)
            if (this.#client.status === 'ready') this.#retryLater(group)
          }
          this.#onError(err instanceof Error ? err : new Error(String(err)))
        },
      )
      this.#pending.add(tracked)
      tracked.finally(() => this.#pending.delete(tracked))
    }
  }
}
