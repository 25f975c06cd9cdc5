/**
 * `app.roomcast.pusher`: the server side of the Pusher protocol. It finds apps, publishes as
 * the HTTP API does (with cache channels), answers presence and channel questions across the
 * cluster, terminates users, and raises the events webhooks are made of. Pusher connections
 * are ordinary hub connections, so everything here goes through the hub and its adapter.
 */
import type { Connection } from '../hub/connection.js'
import type { Delivery } from '../hub/delivery.js'
import type { Hub } from '../hub/hub.js'
import type { ClusterAnswer } from '../hub/queries.js'
import type { RateLimitOptions } from '../hub/rate-window.js'
import type { AppRegistry, PusherApp } from './apps.js'
import type { ChannelCache } from './cache.js'
import { channelOfRoom, channelType, isCacheChannel, isHiddenChannel, roomOf, userChannel } from './channels.js'
import { PusherCode, PusherMessage } from './codes.js'
import type { PusherContext } from './context.js'
import type { PusherEventMap, PusherEventName, PusherEvents } from './events.js'
import type { ResolvedPusherOptions } from './options.js'
import { distinctMembers, isMember, memberKey, OCCUPANCY_KEY, PRESENCE_KEY, PresenceTracker, type PresenceMember } from './presence.js'
import { PUSHER_PROTOCOL } from './protocol.js'
import { PusherSession } from './session.js'
import type { WebhookSender } from './webhooks/sender.js'
import { UnknownPusherAppError } from '../hub/errors.js'

export interface TriggerOptions {
  /** The socket that must not receive the event (Pusher's `socket_id`: the sender's own echo). */
  socketId?: string
}

/** A channel's state across the cluster, as the HTTP API reports it. */
export interface ChannelInfo {
  occupied: boolean
  subscriptionCount: number
  /** Presence channels only: distinct users. */
  userCount?: number
  /** Nodes that did not answer in time; the counts leave them out. */
  missing: string[]
}

export class PusherService {
  readonly apps: AppRegistry
  readonly cache: ChannelCache
  readonly events: PusherEvents
  readonly options: ResolvedPusherOptions
  /** Webhook delivery (queue, retries, counters in `stats`); undefined with `webhooks: false`. */
  readonly webhooks: WebhookSender | undefined
  readonly #context: PusherContext
  readonly #hub: Hub
  readonly #rateLimit: RateLimitOptions | false
  readonly #presence: PresenceTracker
  readonly #sessions = new Map<string, PusherSession>()

  constructor(hub: Hub, context: PusherContext, rateLimit: RateLimitOptions | false, webhooks: WebhookSender | undefined) {
    this.#hub = hub
    this.#context = context
    this.options = context.options
    this.apps = context.apps
    this.cache = context.cache
    this.events = context.events
    this.webhooks = webhooks
    this.#rateLimit = rateLimit
    this.#presence = new PresenceTracker({
      adapter: hub.adapter,
      publish: (delivery) => hub.publish(delivery),
      onChange: (room, member, action) => this.#memberChanged(room, member, action),
      onError: (err, room) => hub.log.warn({ err, room }, 'roomcast: pusher presence tracking failed'),
    })
    hub.hooks.add('join', (connection, room) => this.#joined(connection, room))
    hub.hooks.add('leave', (connection, room) => this.#left(connection, room))
    hub.presenceClaims.push((change) => this.#claim(change.room, change.userId, change.action))
  }

  /** Listens for channel events (the webhook events): occupied, vacated, member added/removed, client events, cache misses. */
  on<K extends PusherEventName>(name: K, listener: PusherEventMap[K]): this {
    this.events.on(name, listener)
    return this
  }

  off<K extends PusherEventName>(name: K, listener: PusherEventMap[K]): this {
    this.events.off(name, listener)
    return this
  }

  /** @internal Starts the protocol on a registered connection. */
  openSession(app: PusherApp, connection: Connection): PusherSession {
    const session = new PusherSession(this.#context, this.#hub, app, connection, this.#rateLimit, this.#sessionClosed)
    this.#sessions.set(connection.id, session)
    return session
  }

  /** @internal */
  closeSession(session: PusherSession): void {
    session.stop()
    this.#sessions.delete(session.connection.id)
  }

  /** What every session calls once its socket is over for the server: one function for all of them. */
  readonly #sessionClosed = (session: PusherSession): void => this.closeSession(session)

  /** The Pusher session of a connection on this node. */
  session(socketId: string): PusherSession | undefined {
    return this.#sessions.get(socketId)
  }

  /** The hub room of an app's channel (in Pusher's namespace, which the native API refuses), for raw `query` calls. */
  room(app: PusherApp, channel: string): string {
    return roomOf(app, channel)
  }

  /**
   * Publishes an event to a channel or channels as Pusher's HTTP API does: `data` as the
   * `pusher` SDK sends it (a string, usually JSON) or any JSON value. Cache channels store it first, so a subscriber
   * arriving right after the publish gets it replayed. Limits and names are the caller's to check.
   * Resolves once the cluster bus took the event on every channel; rejects with
   * `RoomcastError('publish_failed')` when it did not take it on some (every channel is still
   * published, and this node's subscribers got it).
   */
  async trigger(app: PusherApp | string, channels: string | readonly string[], event: string, data: unknown, options: TriggerOptions = {}): Promise<void> {
    // An app object (the HTTP API's case) is used as it is, without a turn of the microtask queue.
    const resolved = typeof app === 'string' ? await this.#app(app) : app
    const dataJson = dataJsonOf(data)
    const published: Promise<unknown>[] = []
    // One name is one channel (iterating a string would publish to each of its characters).
    for (const channel of typeof channels === 'string' ? [channels] : channels) {
      const delivery: Delivery = { target: { kind: 'rooms', rooms: [roomOf(resolved, channel)] }, event, protocol: PUSHER_PROTOCOL }
      if (dataJson !== undefined) delivery.data = dataJson
      if (options.socketId !== undefined) delivery.except = [options.socketId]
      if (isCacheChannel(channel)) {
        const entry = dataJson === undefined ? { event } : { event, data: dataJson }
        // Stored before it is published, so a subscriber arriving right after gets it replayed;
        // published even when the store fails (Redis away, say): the event matters more than its replay.
        const stored = this.cache.set(resolved.id, channel, entry, resolved.cacheTtl).catch((err: unknown) => {
          this.#hub.log.warn({ err, channel }, 'roomcast: pusher cache write failed; the event is published without being cached')
        })
        published.push(stored.then(() => this.#hub.publish(delivery)))
      } else {
        published.push(this.#hub.publish(delivery))
      }
    }
    await Promise.all(published)
  }

  /** Sends an event to every connection where the user is signed in, on every node (`#server-to-user-<id>`); settles as `trigger`. */
  sendToUser(app: PusherApp | string, userId: string, event: string, data: unknown): Promise<void> {
    return this.trigger(app, [userChannel(userId)], event, data)
  }

  /** Closes every connection where the user is signed in, on every node: `pusher:error` 4009, then close 4009. Resolves with how many. */
  async terminateUserConnections(app: PusherApp | string, userId: string): Promise<ClusterAnswer<number>> {
    const resolved = await this.#app(app)
    const rooms = [roomOf(resolved, userChannel(userId))]
    return this.#hub.query({ type: 'disconnect', target: { kind: 'rooms', rooms }, code: PusherCode.Unauthorized, reason: PusherMessage.terminated })
  }

  /** The distinct members of a presence channel across the cluster, user ids in their JSON type. */
  async members(app: PusherApp | string, channel: string): Promise<ClusterAnswer<PresenceMember[]>> {
    const resolved = await this.#app(app)
    const answer = await this.#hub.query({ type: 'roomMembers', room: roomOf(resolved, channel) })
    return { ...answer, value: [...distinctMembers(answer.value).values()] }
  }

  /** Occupancy and counts of one channel across the cluster. */
  async channelInfo(app: PusherApp | string, channel: string): Promise<ChannelInfo> {
    const resolved = await this.#app(app)
    const room = roomOf(resolved, channel)
    if (channelType(channel) === 'presence') {
      const answer = await this.#hub.query({ type: 'roomMembers', room })
      const subscriptionCount = answer.value.length
      return { occupied: subscriptionCount > 0, subscriptionCount, userCount: distinctMembers(answer.value).size, missing: answer.missing }
    }
    const answer = await this.#hub.query({ type: 'roomSize', room })
    return { occupied: answer.value > 0, subscriptionCount: answer.value, missing: answer.missing }
  }

  async #app(app: PusherApp | string): Promise<PusherApp> {
    if (typeof app !== 'string') return app
    const found = await this.apps.byId(app)
    if (found === undefined) throw new UnknownPusherAppError(app)
    return found
  }

  // ------------------------------------------------------------------ hub hooks

  #joined(connection: Connection, room: string): void {
    if (connection.protocol === PUSHER_PROTOCOL) {
      const member = connection.memberInfo?.get(room)
      if (isMember(member)) this.#presence.joined(connection, room, member)
    }
    if (this.#hub.localRoomSize(room) === 1) this.#occupancy(room, 'join')
  }

  #left(connection: Connection, room: string): void {
    if (connection.protocol === PUSHER_PROTOCOL) {
      const member = connection.memberInfo?.get(room)
      if (member !== undefined) connection.memberInfo!.delete(room)
      if (isMember(member)) this.#presence.left(room, member)
    }
    if (this.#hub.localRoomSize(room) === 0) this.#occupancy(room, 'leave')
  }

  /**
   * A room's first local member arrived or its last left: the adapter, told under a key that
   * stands for "this node", says whether the cluster went from 0 to 1 node or back. Tracked
   * only while someone listens, so add listeners at start-up. Both directions are tracked as
   * soon as either event is listened to: the adapter can only tell a vacated channel from one
   * that still has members elsewhere if it was told about the arrivals too (and the reverse).
   */
  #occupancy(room: string, action: 'join' | 'leave'): void {
    if (!this.#occupancyListened() || isHiddenChannel(channelOfRoom(room)) || !this.apps.mayOwn(room)) return
    this.#hub.adapter
      .trackPresence(room, OCCUPANCY_KEY, action)
      .then((clusterWide) => {
        if (clusterWide) this.#emitOccupancy(room, action)
      })
      .catch((err: unknown) => this.#hub.log.warn({ err, room }, 'roomcast: pusher occupancy tracking failed'))
  }

  #occupancyListened(): boolean {
    return this.events.has('channel_occupied') || this.events.has('channel_vacated')
  }

  /** Emits `channel_occupied` / `channel_vacated` for a cluster-wide transition, if anyone listens to that one. */
  #emitOccupancy(room: string, action: 'join' | 'leave'): void {
    const name = action === 'join' ? 'channel_occupied' : 'channel_vacated'
    if (!this.events.has(name)) return
    this.apps.forRoom(room).then(
      (owner) => {
        if (owner !== undefined) this.events.emit(name, owner)
      },
      (err: unknown) => this.#hub.log.warn({ err, room }, 'roomcast: pusher app lookup failed'),
    )
  }

  /** Transitions the adapter found itself for our keys (a dead node's members and channels). */
  #claim(room: string, key: string, action: 'join' | 'leave'): boolean {
    if (key === OCCUPANCY_KEY) {
      this.#emitOccupancy(room, action)
      return true
    }
    if (!key.startsWith(PRESENCE_KEY)) return false
    this.#presence.discovered(room, key, action, (wanted) => {
      for (const member of this.#hub.answer({ type: 'roomMembers', room })) {
        if (isMember(member.info) && memberKey(member.info.user_id) === wanted) return member.info
      }
      return undefined
    })
    return true
  }

  #memberChanged(room: string, member: PresenceMember, action: 'join' | 'leave'): void {
    const name = action === 'join' ? 'member_added' : 'member_removed'
    if (!this.events.has(name)) return
    this.apps.forRoom(room).then(
      (owner) => {
        if (owner !== undefined) this.events.emit(name, { ...owner, userId: member.user_id })
      },
      (err: unknown) => this.#hub.log.warn({ err, room }, 'roomcast: pusher app lookup failed'),
    )
  }
}

/** A payload's JSON text: a string that already is JSON is kept byte for byte, any other value is serialized. */
export function dataJsonOf(data: unknown): string | undefined {
  if (data === undefined) return undefined
  if (typeof data === 'string') {
    try {
      JSON.parse(data)
      return data
    } catch {
      return JSON.stringify(data)
    }
  }
  return JSON.stringify(data)
}
