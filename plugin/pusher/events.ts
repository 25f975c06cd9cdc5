/**
 * What happens on Pusher channels, as Pusher's webhooks describe it. Webhook senders (and
 * anything else) listen here; each event is raised once per cluster where the name says so.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { PusherApp } from './apps.js'

/** A presence member's id as sent in `channel_data`: its JSON type is kept (numbers stay numbers). */
export type PresenceUserId = string | number

export interface ChannelEvent {
  app: PusherApp
  channel: string
}

export interface MemberEvent extends ChannelEvent {
  userId: PresenceUserId
}

export interface ClientEventInfo extends ChannelEvent {
  event: string
  /** The payload as the client sent it. */
  data: unknown
  socketId: string
  /** Presence channels only. */
  userId?: PresenceUserId
}

export interface SubscriptionCountEvent extends ChannelEvent {
  /** Connections subscribed to the channel across the cluster. */
  subscriptionCount: number
}

export interface PusherEventMap {
  /** The channel got its first subscriber in the cluster (counted once across nodes, by the adapter). */
  channel_occupied: (event: ChannelEvent) => unknown
  /** The channel lost its last subscriber in the cluster. */
  channel_vacated: (event: ChannelEvent) => unknown
  /** A user's first connection joined a presence channel (cluster-wide). */
  member_added: (event: MemberEvent) => unknown
  /** A user's last connection left a presence channel (cluster-wide). */
  member_removed: (event: MemberEvent) => unknown
  /** A client event was relayed. */
  client_event: (event: ClientEventInfo) => unknown
  /** A cache channel was subscribed while nothing was cached. */
  cache_miss: (event: ChannelEvent) => unknown
  /**
   * The subscription count of a non-presence channel changed (apps with `enableSubscriptionCount`).
   * Counts are taken after a short window, so a burst of subscriptions is one event.
   */
  subscription_count: (event: SubscriptionCountEvent) => unknown
}

export type PusherEventName = keyof PusherEventMap

/** A tiny typed emitter whose listeners can never break the protocol: failures are logged. */
export class PusherEvents {
  readonly #listeners: { [K in PusherEventName]?: Array<PusherEventMap[K]> } = {}
  readonly #log: FastifyBaseLogger

  constructor(log: FastifyBaseLogger) {
    this.#log = log
  }

  on<K extends PusherEventName>(name: K, listener: PusherEventMap[K]): void {
    const list = (this.#listeners[name] ??= []) as Array<PusherEventMap[K]>
    list.push(listener)
  }

  off<K extends PusherEventName>(name: K, listener: PusherEventMap[K]): void {
    const list = this.#listeners[name] as Array<PusherEventMap[K]> | undefined
    const index = list?.indexOf(listener) ?? -1
    if (index >= 0) list!.splice(index, 1)
  }

  has(name: PusherEventName): boolean {
    return (this.#listeners[name]?.length ?? 0) > 0
  }

  emit<K extends PusherEventName>(name: K, event: Parameters<PusherEventMap[K]>[0]): void {
    const list = this.#listeners[name] as Array<(event: Parameters<PusherEventMap[K]>[0]) => unknown> | undefined
    if (list === undefined) return
    for (const listener of list) {
      try {
        const result = listener(event)
        if (result instanceof Promise) result.catch((err: unknown) => this.#failed(name, err))
      } catch (err) {
        this.#failed(name, err)
      }
    }
  }

  #failed(name: string, err: unknown): void {
    this.#log.error({ err, event: name }, 'roomcast: a pusher event listener failed')
  }
}
