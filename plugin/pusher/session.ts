/**
 * The Pusher protocol for one connection: subscriptions with their signatures, presence,
 * cache replays, client events, sign-in and ping. Frames arrive here already size-checked by
 * ws. Subscribe, unsubscribe and sign-in run one after another (a presence subscription waits
 * for a cluster answer), so a quick unsubscribe can never overtake its subscribe.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { RawData } from 'ws'
import type { Connection } from '../hub/connection.js'
import type { Delivery } from '../hub/delivery.js'
import type { Hub } from '../hub/hub.js'
import type { RateLimitOptions } from '../hub/rate-window.js'
import { RateWindow } from '../hub/rate-window.js'
import { logConnection } from '../hub/connection-log.js'
import {
  appConnectionsRoom,
  channelType,
  checkChannelName,
  isCacheChannel,
  isClientEvent,
  requiresAuth,
  roomOf,
  userChannel,
  type ChannelType,
  type SubscriptionErrorData,
} from './channels.js'
import type { PusherApp } from './apps.js'
import type { PusherContext } from './context.js'
import type { CachedEvent } from './cache.js'
import { PusherCode, PusherMessage } from './codes.js'
import { connectionEstablishedFrame, errorFrame, eventFrame, PONG_FRAME, subscriptionErrorFrame } from './codec.js'
import { PUSHER_PROTOCOL } from './protocol.js'
import { distinctMembers, memberKey, parseMember, presenceData, type PresenceMember } from './presence.js'
import { verifyChannelAuth, verifyUserAuth } from './signatures.js'
import { textOf } from '../ws/raw-data.js'
import type { SocketPeer } from '../ws/socket-peer.js'
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../shared/json-depth.js'

type Message = Record<string, unknown>

/** How pusher-js begins every subscribe frame (it sends `JSON.stringify({ event, data })`). */
const SUBSCRIBE_FRAME_START = '{"event":"pusher:subscribe"'

const RESOLVED = Promise.resolve()

/** A signed-in user: the id pusher-js requires, and the whole `user_data`. */
export interface SignedInUser {
  id: string
  data: Record<string, unknown>
}

export class PusherSession implements SocketPeer {
  readonly app: PusherApp
  readonly connection: Connection
  readonly #context: PusherContext
  readonly #hub: Hub
  readonly #frames: RateWindow | undefined
  /** Created with the first client event: most connections never send one. */
  #clientEvents: RateWindow | undefined
  #signinTimer: NodeJS.Timeout | undefined
  #user: SignedInUser | undefined
  /** Subscribe frames still allowed past the rate window (see `#reconnectBurst`). */
  #subscribeCredit: number
  /** The tail of the channel operations under way; undefined when none is, so an idle connection holds no promise. */
  #queue: Promise<void> | undefined
  /** Channel operations queued and not finished. */
  #pending = 0
  /** Called once the socket is over for the server, before the hub forgets the connection. */
  readonly #closed: (session: PusherSession) => void

  constructor(
    context: PusherContext,
    hub: Hub,
    app: PusherApp,
    connection: Connection,
    rateLimit: RateLimitOptions | false,
    closed: (session: PusherSession) => void,
  ) {
    this.#context = context
    this.#hub = hub
    this.app = app
    this.connection = connection
    this.#closed = closed
    this.#frames = rateLimit === false ? undefined : new RateWindow(rateLimit.max, rateLimit.windowMs)
    this.#subscribeCredit = context.options.maxChannelsPerConnection
  }

  /** The user signed in on this connection, if any. */
  get user(): SignedInUser | undefined {
    return this.#user
  }

  /** The connection is registered: greet it. Pusher connections need no credentials to open. */
  start(): void {
    const connection = this.connection
    this.#hub.authenticate(connection, { metadata: { pusherAppId: this.app.id } })
    connection.writeText(connectionEstablishedFrame(connection.id, this.#context.options.activityTimeout))
    if (this.app.maxConnections >= 0) this.#hub.join(connection, [appConnectionsRoom(this.app)])
    if (this.app.enableUserAuthentication) {
      this.#signinTimer = setTimeout(() => {
        this.#hub.metrics?.events.authFailed(PUSHER_PROTOCOL, this.app.id, 'timeout')
        connection.close(PusherCode.Unauthorized, PusherMessage.signinTimeout)
      }, this.#context.options.userAuthenticationTimeout)
    }
  }

  /** The socket closed: drop pending timers. */
  stop(): void {
    clearTimeout(this.#signinTimer)
  }

  /** The connection's logger (`SocketPeer`). */
  get log(): FastifyBaseLogger {
    return this.connection.log
  }

  /** A pong from the peer: it is alive (`heartbeat.mode: 'ping'`). */
  pong(): void {
    this.connection.lastSeen = Date.now()
  }

  /** The connection is over for the server: the session ends, the connection leaves everything now. */
  peerClosed(code: number, reason: string, refusedFrame: boolean): void {
    if (refusedFrame) logConnection(this.connection, 'warn', 'roomcast: frame refused by the WebSocket layer', { code, reason })
    this.#closed(this)
    this.#hub.remove(this.connection, code, reason)
  }

  /**
   * The socket fell too far behind. pusher-js has no event for a gap, so a Pusher client is only
   * ever closed, with a code after which pusher-js reconnects after a backoff.
   */
  overflow(): void {
    logConnection(this.connection, 'warn', 'roomcast: connection fell too far behind, closing', { dropped: this.connection.dropped })
    this.connection.close(PusherCode.OverCapacity, 'backpressure: the socket fell too far behind')
  }

  /** The socket caught up after `count` messages were dropped; pusher-js cannot be told of the gap, so it is only logged. */
  caughtUp(count: number): void {
    logConnection(this.connection, 'warn', 'roomcast: messages dropped for a slow connection', { dropped: count })
  }

  receive(raw: RawData, isBinary: boolean): void {
    const connection = this.connection
    const metrics = this.#hub.metrics
    if (metrics !== undefined) metrics.traffic(PUSHER_PROTOCOL).messagesIn++
    if (connection.state !== 'authenticated') return
    const now = Date.now()
    connection.lastSeen = now
    // Every frame counts (pings, unsubscribes, binary, malformed and unknown ones too), before any work on it.
    if (this.#frames !== undefined && !this.#frames.take(now) && !this.#reconnectBurst(raw, isBinary)) {
      // 4100 "over capacity": pusher-js reconnects after a backoff. A 43xx close would make it
      // give up for good, and this is a client sending too fast, not one that must never return.
      logConnection(connection, 'warn', 'roomcast: rate limit exceeded, closing')
      this.#hub.metrics?.events.rateLimited(PUSHER_PROTOCOL, this.app.id)
      connection.close(PusherCode.OverCapacity, 'Too many messages.')
      return
    }
    if (isBinary) {
      this.#error(null, 'Binary frames are not supported.')
      return
    }
    const text = textOf(raw)
    // Before parsing: the client event's JSON.stringify (and every later walk) would throw on
    // a value nested a few thousand levels deep, out of this socket listener.
    if (exceedsJsonDepth(text)) {
      this.#error(PusherCode.ClientEventRejected, `The message is nested deeper than ${MAX_JSON_DEPTH} levels.`)
      return
    }
    let message: unknown
    try {
      message = JSON.parse(text)
    } catch {
      this.#error(null, 'The message is not valid JSON.')
      return
    }
    if (message === null || typeof message !== 'object' || Array.isArray(message) || typeof (message as Message).event !== 'string') {
      this.#error(null, 'A message must be a JSON object with an "event" string.')
      return
    }
    const { event, data } = message as Message & { event: string }
    switch (event) {
      case 'pusher:ping':
        connection.writeText(PONG_FRAME)
        return
      case 'pusher:pong':
        return
      case 'pusher:subscribe':
        this.#enqueue(() => this.#subscribe(objectOf(data)))
        return
      case 'pusher:unsubscribe':
        this.#enqueue(() => this.#unsubscribe(objectOf(data)))
        return
      case 'pusher:signin':
        this.#enqueue(() => this.#signin(objectOf(data)))
        return
    }
    if (isClientEvent(event)) this.#clientEvent(event, message as Message, now)
    else this.#error(null, `Unsupported event "${event.slice(0, 200)}".`)
  }

  /**
   * pusher-js subscribes to all its channels at once right after it (re)connects, which can be
   * more frames than one rate window allows. So each connection may go past the window with at
   * most `maxChannelsPerConnection` subscribe frames, once in its life: the channel cap bounds
   * what such a burst needs, the allowance is never refilled, and only frames that begin as
   * pusher-js writes a subscribe spend it (their first bytes are compared; nothing is parsed).
   */
  #reconnectBurst(raw: RawData, isBinary: boolean): boolean {
    if (this.#subscribeCredit <= 0 || isBinary || !textOf(raw).startsWith(SUBSCRIBE_FRAME_START)) return false
    this.#subscribeCredit--
    return true
  }

  #enqueue(operation: () => void | Promise<void>): void {
    this.#pending++
    this.#queue = (this.#queue ?? RESOLVED).then(() => this.#run(operation))
  }

  async #run(operation: () => void | Promise<void>): Promise<void> {
    try {
      if (this.connection.state === 'authenticated') await operation()
    } catch (err) {
      this.#hub.log.error({ err, connectionId: this.connection.id }, 'roomcast: pusher channel operation failed')
    } finally {
      // The last one: nothing is queued behind it, so the next operation may start from scratch.
      if (--this.#pending === 0) this.#queue = undefined
    }
  }

  // ------------------------------------------------------------------ subscriptions

  async #subscribe(request: Message | undefined): Promise<void> {
    const channel = request?.channel
    if (typeof channel !== 'string' || channel === '') {
      this.#error(null, 'pusher:subscribe needs data.channel.')
      return
    }
    const type = channelType(channel)
    if (type === 'server-to-user') {
      // Only the signed-in user's own channel, which sign-in already joined.
      if (this.#user !== undefined && channel === userChannel(this.#user.id)) this.#succeeded(channel, '{}')
      else this.#subscriptionError(channel, { error: PusherMessage.channelNameNotAllowed, status: PusherCode.Unauthorized })
      return
    }
    const nameError = checkChannelName(channel, this.app.maxChannelNameLength)
    if (nameError !== undefined) {
      this.#subscriptionError(channel, nameError)
      return
    }
    const room = roomOf(this.app, channel)
    if (this.connection.rooms.has(room)) {
      this.#alreadySubscribed(channel, type)
      return
    }
    if (this.connection.rooms.size >= this.#context.options.maxChannelsPerConnection) {
      this.#subscriptionError(channel, {
        type: 'LimitReached',
        error: `A connection may be subscribed to at most ${this.#context.options.maxChannelsPerConnection} channels.`,
        status: PusherCode.ClientEventRejected,
      })
      return
    }
    let member: PresenceMember | undefined
    if (requiresAuth(type)) {
      const verdict = this.#authorize(channel, type, request!)
      if ('status' in verdict) {
        this.#subscriptionError(channel, verdict)
        return
      }
      member = verdict.member
    }
    if (type === 'presence') {
      if (!(await this.#joinPresence(channel, room, member!))) return
    } else {
      this.#hub.join(this.connection, [room])
      if (!this.connection.rooms.has(room)) return
      this.#succeeded(channel, '{}')
    }
    if (requiresAuth(type)) clearTimeout(this.#signinTimer)
    if (isCacheChannel(channel)) await this.#replayCache(channel, room)
  }

  /**
   * A subscribe to a channel the connection already holds costs nothing: no signature check, no
   * cluster query, no member list, no cache replay. pusher-js never sends one (`Channel#subscribe`
   * returns while subscribed; `Pusher#subscribe` sends nothing while a subscription is pending),
   * short of a channel the server joined on its own. Other channels get the same fixed
   * `subscription_succeeded` "{}" as the first time, which pusher-js accepts again as it is;
   * presence channels get no reply, since their success must carry the whole member list and
   * pusher-js replaces its members with whatever that list holds.
   */
  #alreadySubscribed(channel: string, type: ChannelType): void {
    if (type !== 'presence') this.#succeeded(channel, '{}')
  }

  /** Checks the subscription's signature; presence also gets its member. */
  #authorize(channel: string, type: ChannelType, request: Message): { member?: PresenceMember } | SubscriptionErrorData {
    const socketId = this.connection.id
    const unauthorized: SubscriptionErrorData = { type: 'AuthError', error: PusherMessage.subscriptionUnauthorized, status: 401 }
    if (type !== 'presence') return verifyChannelAuth(this.app, socketId, channel, request.auth) ? {} : unauthorized
    const channelData = request.channel_data
    if (channelData === undefined && this.#user !== undefined) {
      // "Authorized connections": a signed-in socket may omit channel_data and join as its user.
      if (!verifyChannelAuth(this.app, socketId, channel, request.auth)) return unauthorized
      const member: PresenceMember = { user_id: this.#user.id }
      if (this.#user.data.user_info !== undefined) member.user_info = this.#user.data.user_info
      return { member }
    }
    if (typeof channelData !== 'string') {
      return { type: 'ServerError', error: 'A presence subscription needs channel_data (a JSON string).', status: PusherCode.ServerError }
    }
    if (!verifyChannelAuth(this.app, socketId, channel, request.auth, channelData)) return unauthorized
    const member = parseMember(channelData, this.app.maxPresenceMemberSizeKb * 1024)
    return 'status' in member ? member : { member }
  }

  /** Joins a presence room within the member limit and answers with the member list. */
  async #joinPresence(channel: string, room: string, member: PresenceMember): Promise<boolean> {
    const connection = this.connection
    const key = memberKey(member.user_id)
    const answer = await this.#hub.query({ type: 'roomMembers', room })
    if (connection.state !== 'authenticated') return false
    const members = distinctMembers(answer.value)
    // Distinct users: a second socket of a member does not count against the limit (soketi's does).
    if (!members.has(key) && members.size >= this.app.maxPresenceMembers) {
      this.#subscriptionError(channel, { type: 'LimitReached', error: PusherMessage.presenceMemberLimit, status: PusherCode.OverCapacity })
      return false
    }
    // Set before joining: the join hook announces the member, and roomMembers answers carry it.
    const info = (connection.memberInfo ??= new Map())
    info.set(room, member)
    this.#hub.join(connection, [room])
    if (!connection.rooms.has(room)) {
      info.delete(room)
      return false
    }
    members.delete(key)
    members.set(key, member)
    this.#succeeded(channel, presenceData(members))
    return true
  }

  async #replayCache(channel: string, room: string): Promise<void> {
    let cached: CachedEvent | undefined
    try {
      cached = await this.#context.cache.get(this.app.id, channel)
    } catch (err) {
      this.#hub.log.warn({ err, channel }, 'roomcast: pusher cache read failed; answering with a cache miss')
    }
    if (!this.connection.rooms.has(room)) return
    if (cached !== undefined) {
      this.connection.writeText(eventFrame(cached.event, channel, cached.data))
      return
    }
    this.connection.writeText(JSON.stringify({ event: 'pusher:cache_miss', channel }))
    this.#context.events.emit('cache_miss', { app: this.app, channel })
  }

  #unsubscribe(request: Message | undefined): void {
    const channel = request?.channel
    if (typeof channel !== 'string' || channel === '') {
      this.#error(null, 'pusher:unsubscribe needs data.channel.')
      return
    }
    // Delivery to the user channel follows the sign-in, not the subscription; there is no reply either way.
    if (channelType(channel) === 'server-to-user') return
    this.#hub.leave(this.connection, [roomOf(this.app, channel)])
    logConnection(this.connection, 'debug', 'roomcast: unsubscribed', { channel })
  }

  // ------------------------------------------------------------------ client events

  #clientEvent(event: string, message: Message, now: number): void {
    const channel = message.channel
    if (typeof channel !== 'string' || channel === '') {
      this.#error(PusherCode.ClientEventRejected, 'A client event needs a channel.')
      return
    }
    const accepted = this.#acceptClientEvent(event, channel, message.data, now)
    if (typeof accepted === 'string') {
      this.#error(PusherCode.ClientEventRejected, accepted, channel)
      return
    }
    const { type, room, dataJson } = accepted
    const data = message.data
    const member = type === 'presence' ? (this.connection.memberInfo?.get(room) as PresenceMember | undefined) : undefined
    const delivery: Delivery = { target: { kind: 'rooms', rooms: [room] }, except: [this.connection.id], event, protocol: PUSHER_PROTOCOL }
    if (dataJson !== undefined) delivery.data = dataJson
    if (member !== undefined) delivery.userId = member.user_id
    this.#hub.publish(delivery)
    if (this.#context.events.has('client_event')) {
      const info = { app: this.app, channel, event, data, socketId: this.connection.id }
      this.#context.events.emit('client_event', member === undefined ? info : { ...info, userId: member.user_id })
    }
  }

  /** Why a client event is refused (`pusher:error` 4301), or what publishing it needs. */
  #acceptClientEvent(event: string, channel: string, data: unknown, now: number): string | { type: ChannelType; room: string; dataJson: string | undefined } {
    if (!this.app.enableClientMessages) return PusherMessage.clientMessagesDisabled
    const type = channelType(channel)
    if (type === 'private-encrypted') return 'Client events are not supported on encrypted channels.'
    if (type !== 'private' && type !== 'presence') return 'Client events are only supported on private and presence channels.'
    if (event.length > this.app.maxEventNameLength) return `The event name is longer than ${this.app.maxEventNameLength} characters.`
    let dataJson: string | undefined
    try {
      dataJson = data === undefined ? undefined : JSON.stringify(data)
    } catch {
      // Unreachable for a frame that passed the depth check; a throw here would leave the socket listener.
      return 'The event data cannot be serialized.'
    }
    const size = typeof data === 'string' ? Buffer.byteLength(data) : dataJson === undefined ? 0 : Buffer.byteLength(dataJson)
    if (size > this.app.maxEventPayloadKb * 1024) return `The event data is larger than ${this.app.maxEventPayloadKb} KiB.`
    const room = roomOf(this.app, channel)
    if (!this.connection.rooms.has(room)) return 'The connection is not subscribed to the channel.'
    if (!(this.#clientEvents ??= new RateWindow(this.app.maxClientEventsPerSecond, 1000)).take(now)) return PusherMessage.clientEventsRateLimited
    return { type, room, dataJson }
  }

  // ------------------------------------------------------------------ sign-in

  #signin(request: Message | undefined): void {
    const connection = this.connection
    const userData = request?.user_data
    if (typeof userData !== 'string' || !verifyUserAuth(this.app, connection.id, userData, request!.auth)) {
      this.#hub.metrics?.events.authFailed(PUSHER_PROTOCOL, this.app.id, 'refused')
      this.#refuseSignin(PusherMessage.unauthorized)
      return
    }
    if (exceedsJsonDepth(userData)) {
      this.#refuseSignin(`The user_data is nested deeper than ${MAX_JSON_DEPTH} levels.`)
      return
    }
    const parsed = parseUserData(userData)
    if (parsed === undefined) {
      this.#refuseSignin('The user_data must be a JSON object with a non-empty "id" field.')
      return
    }
    if (this.#user !== undefined && this.#user.id !== parsed.id) {
      this.#refuseSignin('The connection is already signed in as another user.')
      return
    }
    if (this.#user === undefined) {
      this.#user = parsed
      // In the app's namespace: native `users.to(id)` never reaches it, Pusher never reaches native users.
      this.#hub.identify(connection, this.app.roomPrefix + parsed.id)
      this.#hub.join(connection, [roomOf(this.app, userChannel(parsed.id))])
      clearTimeout(this.#signinTimer)
    }
    connection.writeText(eventFrame('pusher:signin_success', undefined, JSON.stringify({ user_data: userData })))
  }

  /** A sign-in that cannot be accepted closes the connection with 4009, as Pusher does. */
  #refuseSignin(reason: string): void {
    logConnection(this.connection, 'info', 'roomcast: sign-in refused', { reason })
    this.connection.close(PusherCode.Unauthorized, reason)
  }

  // ------------------------------------------------------------------ replies

  #succeeded(channel: string, dataJson: string): void {
    logConnection(this.connection, 'debug', 'roomcast: subscribed', { channel })
    this.connection.writeText(eventFrame('pusher_internal:subscription_succeeded', channel, dataJson))
  }

  #subscriptionError(channel: string, error: SubscriptionErrorData): void {
    logConnection(this.connection, 'info', 'roomcast: subscription refused', { channel, status: error.status, reason: error.error })
    this.#hub.metrics?.events.joinRefused(PUSHER_PROTOCOL, this.app.id)
    this.connection.writeText(subscriptionErrorFrame(channel, error))
  }

  /** Bad input, answered with `pusher:error`; the connection stays. */
  #error(code: number | null, message: string, channel?: string): void {
    logConnection(this.connection, 'warn', 'roomcast: input refused', { code, detail: message })
    this.connection.writeText(errorFrame(code, message, channel))
  }
}

/** Incoming `data` may be an object or, from some clients, its JSON string (Pusher's double encoding). */
function objectOf(data: unknown): Message | undefined {
  let value = data
  if (typeof value === 'string') {
    if (exceedsJsonDepth(value)) return undefined
    try {
      value = JSON.parse(value)
    } catch {
      return undefined
    }
  }
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Message) : undefined
}

/** `user_data` must hold an `id`; pusher-js needs a non-empty string, numbers are accepted as their text. */
function parseUserData(userData: string): SignedInUser | undefined {
  const data = objectOf(userData)
  const id = data?.id
  if (typeof id === 'string' && id !== '') return { id, data: data! }
  if (typeof id === 'number' && Number.isFinite(id)) return { id: String(id), data: data! }
  return undefined
}
