/**
 * Pusher's subscription counting, for apps with `enableSubscriptionCount`: when the number of
 * connections subscribed to a non-presence channel changes, its subscribers get
 * `pusher_internal:subscription_count` (pusher-js turns it into `pusher:subscription_count` and
 * `channel.subscriptionCount`) and a `subscription_count` channel event is raised for webhooks.
 *
 * A change only schedules a count: after `intervalMs` one cluster-wide `roomSize` query counts
 * the channel, so a burst of subscriptions costs one query and one message, not one per socket.
 * The node where the change happened does the counting. When changes land on several nodes in
 * the same window, each of them publishes the (same, current) count.
 */
import type { Hub } from '../hub/hub.js'
import { channelOfRoom, channelType, isHiddenChannel } from './channels.js'
import { PUSHER_PROTOCOL } from './protocol.js'
import type { PusherService } from './service.js'

export const SUBSCRIPTION_COUNT_EVENT = 'pusher_internal:subscription_count'

export class SubscriptionCounter {
  readonly #hub: Hub
  readonly #service: PusherService
  readonly #intervalMs: number
  readonly #scheduled = new Map<string, NodeJS.Timeout>()
  #closed = false

  /** Counts nothing (and adds no hooks) when a static app list has no app that enables counting. */
  constructor(hub: Hub, service: PusherService, intervalMs: number) {
    this.#hub = hub
    this.#service = service
    this.#intervalMs = intervalMs
    const apps = service.apps
    if (!apps.dynamic && !apps.list().some((app) => app.config.enableSubscriptionCount === true)) return
    hub.hooks.add('join', (_connection, room) => this.#changed(room))
    hub.hooks.add('leave', (_connection, room) => this.#changed(room))
  }

  /** Stops counting: pending counts are dropped. */
  close(): void {
    this.#closed = true
    for (const timer of this.#scheduled.values()) clearTimeout(timer)
    this.#scheduled.clear()
  }

  #changed(room: string): void {
    if (this.#closed || this.#scheduled.has(room)) return
    const channel = channelOfRoom(room)
    // Presence channels have user counts of their own; Pusher does not count them.
    if (isHiddenChannel(channel) || channelType(channel) === 'presence' || !this.#service.apps.mayOwn(room)) return
    const timer = setTimeout(() => {
      this.#scheduled.delete(room)
      this.#count(room).catch((err: unknown) => this.#hub.log.warn({ err, room }, 'roomcast: pusher subscription count failed'))
    }, this.#intervalMs)
    this.#scheduled.set(room, timer)
  }

  async #count(room: string): Promise<void> {
    const owner = await this.#service.apps.forRoom(room)
    if (owner === undefined || owner.app.config.enableSubscriptionCount !== true) return
    const answer = await this.#hub.query({ type: 'roomSize', room })
    if (this.#closed) return
    const count = answer.value
    if (count > 0) {
      this.#hub.publish({
        target: { kind: 'rooms', rooms: [room] },
        event: SUBSCRIPTION_COUNT_EVENT,
        data: JSON.stringify({ subscription_count: count }),
        protocol: PUSHER_PROTOCOL,
      })
    }
    this.#service.events.emit('subscription_count', { app: owner.app, channel: owner.channel, subscriptionCount: count })
  }
}
