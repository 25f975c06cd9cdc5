import type { RedisClient } from './client.js'
import { isClusterClient } from './connection.js'

/** What publishing needs of a client; both `Redis` and `Cluster` have it. */
type PublishingClient = Pick<RedisClient, 'status' | 'publish' | 'spublish'>

export interface PublisherOptions {
  /**
   * Fail at once when the connection is not ready instead of handing the command to the client.
   * Right for the adapter's own connection (it has no offline queue anyway, and this skips
   * building a rejected promise per message during an outage).
   */
  failFastWhenDown: boolean
  /**
   * Most messages handed to the client and not yet answered. Past it a message fails at once
   * instead of joining them: on a client with an offline queue (the Emitter's, which is the
   * application's) this is what keeps an outage from filling memory. Default: no bound.
   */
  maxInFlight?: number
  /** Called on every failed publish (the caller decides how loudly to log). */
  onFailure(error: Error, channel: string): void
  /** Called on the first success after failures. */
  onRecovery?(failuresInStreak: number): void
}

/** Told once how one message fared: no error when Redis took it. */
type Settle = (error: Error | undefined) => void

const ignore: Settle = () => {}

/**
 * Sends bus messages: PUBLISH on a single node or Sentinel, SPUBLISH on a Cluster (sharded
 * pub/sub, so each channel's traffic stays on the shard that owns its slot). Never throws; only
 * `publishAll` rejects (with the reason). It counts what it sent and what failed, and can wait
 * until nothing is in flight.
 */
export class BusPublisher {
  readonly sharded: boolean
  published = 0
  failures = 0
  readonly #client: PublishingClient
  readonly #options: PublisherOptions
  #streak = 0
  #inFlight = 0
  #idleWaiters: Array<() => void> = []

  constructor(client: RedisClient, options: PublisherOptions) {
    this.sharded = isClusterClient(client)
    this.#client = client
    this.#options = options
  }

  /** Fire and forget: messages nobody waits for (answers to queries). */
  send(channel: string, message: string): void {
    this.#publish(channel, message, ignore)
  }

  /** Resolves true once Redis has taken the message, false when it failed (already counted and reported). */
  publish(channel: string, message: string): Promise<boolean> {
    return new Promise((resolve) => this.#publish(channel, message, (error) => resolve(error === undefined)))
  }

  /**
   * The same message on each channel (the hot path of deliveries): one promise for all of them,
   * resolved once Redis has taken every one, rejected with `asError` of the first failure's
   * reason (every failure is also counted and reported). All channels are tried either way.
   */
  publishAll(channels: readonly string[], message: string, asError: (cause: Error) => Error = (cause) => cause): Promise<void> {
    if (channels.length === 0) return Promise.resolve()
    return new Promise((resolve, reject) => {
      let pending = channels.length
      let failure: Error | undefined
      const settle: Settle = (error) => {
        failure ??= error
        if (--pending > 0) return
        if (failure === undefined) resolve()
        else reject(asError(failure))
      }
      for (const channel of channels) this.#publish(channel, message, settle)
    })
  }

  /**
   * Another command that publishes on `channel` (a room stream's script), counted, bounded and
   * awaited by `idle` like a message: resolves with its reply, rejects with `asError` of the reason.
   */
  command<T>(channel: string, send: () => Promise<T>, asError: (cause: Error) => Error = (cause) => cause): Promise<T> {
    return new Promise((resolve, reject) => {
      let reply: T
      this.#send(
        channel,
        () =>
          send().then((value) => {
            reply = value
          }),
        (error) => (error === undefined ? resolve(reply) : reject(asError(error))),
      )
    })
  }

  #publish(channel: string, message: string, settle: Settle): void {
    this.#send(channel, () => (this.sharded ? this.#client.spublish(channel, message) : this.#client.publish(channel, message)), settle)
  }

  #send(channel: string, command: () => Promise<unknown>, settle: Settle): void {
    if (this.#options.failFastWhenDown && this.#client.status !== 'ready') {
      settle(this.#failed(new Error(`Redis connection is ${this.#client.status}`), channel))
      return
    }
    const max = this.#options.maxInFlight
    if (max !== undefined && this.#inFlight >= max) {
      settle(this.#failed(new Error(`${max} messages are already waiting for Redis; this one is dropped`), channel))
      return
    }
    let sent: Promise<unknown>
    try {
      sent = command()
    } catch (err) {
      settle(this.#failed(err instanceof Error ? err : new Error(String(err)), channel))
      return
    }
    this.#inFlight++
    sent.then(
      () => {
        this.published++
        if (this.#streak > 0) {
          const streak = this.#streak
          this.#streak = 0
          this.#options.onRecovery?.(streak)
        }
        this.#settled()
        settle(undefined)
      },
      (err: unknown) => {
        const error = this.#failed(err instanceof Error ? err : new Error(String(err)), channel)
        this.#settled()
        settle(error)
      },
    )
  }

  /** Resolves once every message handed to `send` so far has been sent or has failed. */
  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }

  #failed(error: Error, channel: string): Error {
    this.failures++
    this.#streak++
    this.#options.onFailure(error, channel)
    return error
  }

  #settled(): void {
    if (--this.#inFlight === 0 && this.#idleWaiters.length > 0) {
      for (const resolve of this.#idleWaiters.splice(0)) resolve()
    }
  }
}
