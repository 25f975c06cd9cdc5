/**
 * The Pusher protocol for one connection: subscriptions with their signatures, presence,
 * cache replays, client events, sign-in and ping. Frames arrive here already size-checked by
 * ws. Subscribe, unsubscribe and sign-in run one after another (a presence subscription waits
 * for a cluster answer), so a quick unsubscribe can never overtake its subscribe.
 */
import type { RawData } from 'ws'
import type { Connection } from '../hub/connection.js'
import type { Delivery } from '../hub/delivery.js'
import type { Hub } from '../hub/hub.js'
import type { RateLimitOptions } from '../hub/rate-window.js'
import { RateWindow } from '../hub/rate-window.js'
import { appConnectionsRoom, channelType, checkChannelName, isCacheChannel, isClientEvent, requiresAuth, roomOf, userChannel, type ChannelType, type SubscriptionErrorData } from './channels.js'
import type { PusherApp } from './apps.js'
import { PusherCode, PusherMessage } from './codes.js'
import { connectionEstablishedFrame, errorFrame, eventFrame, PONG_FRAME, subscriptionErrorFrame } from './codec.js'
import { distinctMembers, memberKey, parseMember, presenceData, type PresenceMember } from './presence.js'
import type { PusherService } from './service.js'
import { verifyChannelAuth, verifyUserAuth } from './signatures.js'
import { textOf } from '../ws/raw-data.js'

type Message = Record<string, unknown>

/** A signed-in user: the id pusher-js requires, and the whole `user_data`. */
export interface SignedInUser {
  id: string
  data: Record<string, unknown>
}

export class PusherSession {
  readonly app: PusherApp
  readonly connection: Connection
  readonly #service: PusherService
  readonly #hub: Hub
  readonly #frames: RateWindow | undefined
  readonly #clientEvents: RateWindow
  #signinTimer: NodeJS.Timeout | undefined
  #user: SignedInUser | undefined
  /** Channel operations queued and not yet done. */
  #pending = 0
  #queue: Promise<void> = Promise.resolve()

  constructor(service: PusherService, hub: Hub, app: PusherApp, connection: Connection, rateLimit: RateLimitOptions | false) {
    this.#service = service
    this.#hub = hub
    this.app = app
    this.connection = connection
    this.#frames = rateLimit === false ? undefined : new RateWindow(rateLimit.max, rateLimit.windowMs)
    this.#clientEvents = new RateWindow(app.maxClientEventsPerSecond, 1000)
  }

  /** The user signed in on this connection, if any. */
  get user(): SignedInUser | undefined {
    return this.#user
  }

  /** The connection is registered: greet it. Pusher connections need no credentials to open. */
  start(): void {
    const connection = this.connection
    this.#hub.authenticate(connection, { metadata: { pusherAppId: this.app.id } })
    connection.writeText(connectionEstablishedFrame(connection.id, this.#service.options.activityTimeout))
    if (this.app.maxConnections >= 0) this.#hub.join(connection, [appConnectionsRoom(this.app)])
    if (this.app.enableUserAuthentication) {
      this.#signinTimer = setTimeout(() => connection.close(PusherCode.Unauthorized, PusherMessage.signinTimeout), this.#service.options.userAuthenticationTimeout)
    }
  }

  /** The socket closed: drop pending timers. */
  stop(): void {
    clearTimeout(this.#signinTimer)
  }

  receive(raw: RawData, isBinary: boolean): void {
    const connection = this.connection
    if (connection.state !== 'authenticated') return
    const now = Date.now()
    connection.lastSeen = now
    if (isBinary) {
      this.#error(null, 'Binary frames are not supported.')
      return
    }
    let message: unknown
    try {
      message = JSON.parse(textOf(raw))
    } catch {
      this.#error(null, 'The message is not valid JSON.')
      return
    }
    if (message === null || typeof message !== 'object' || Array.isArray(message) || typeof (message as Message).event !== 'string') {
      this.#error(null, 'A message must be a JSON object with an "event" string.')
      return
    }
    const { event, data } = message as Message & { event: string }
    if (!exemptFromFrameLimit(event, this.connection.rooms.size + this.#pending, this.#service.options.maxChannelsPerConnection) && this.#frames !== undefined && !this.#frames.take(now)) {
      // 4100 "over capacity": pusher-js reconnects after a backoff. A 43xx close would make it
      // give up for good, and this is a client sending too fast, not one that must never return.
      connection.close(PusherCode.OverCapacity, 'Too many messages.')
      return
    }
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

  #enqueue(operation: () => void | Promise<void>): void {
    this.#pending++
    this.#queue = this.#queue
      .then(() => (this.connection.state === 'authenticated' ? operation() : undefined))
      .catch((err: unknown) => {
        this.#hub.log.error({ err, connectionId: this.connection.id }, 'roomcast: pusher channel operation failed')
      })
      .finally(() => {
        this.#pending--
      })
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
    const already = this.connection.rooms.has(room)
    if (!already && this.connection.rooms.size >= this.#service.options.maxChannelsPerConnection) {
      this.#subscriptionError(channel, {
        type: 'LimitReached',
        error: `A connection may be subscribed to at most ${this.#service.options.maxChannelsPerConnection} channels.`,
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
      if (!(await this.#joinPresence(channel, room, member!, already))) return
    } else {
      if (!already) this.#hub.join(this.connection, [room])
      if (!this.connection.rooms.has(room)) return
      this.#succeeded(channel, '{}')
    }
    if (requiresAuth(type)) clearTimeout(this.#signinTimer)
    if (isCacheChannel(channel)) await this.#replayCache(channel, room)
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
  async #joinPresence(channel: string, room: string, member: PresenceMember, already: boolean): Promise<boolean> {
    const connection = this.connection
    const key = memberKey(member.user_id)
    const answer = await this.#hub.query({ type: 'roomMembers', room })
    if (connection.state !== 'authenticated') return false
    const members = distinctMembers(answer.value)
    if (already) {
      // A repeated subscription is answered again; the member stays as it first joined.
      this.#succeeded(channel, presenceData(members))
      return true
    }
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
    let cached
    try {
      cached = await this.#service.cache.get(this.app.id, channel)
    } catch (err) {
      this.#hub.log.warn({ err, channel }, 'roomcast: pusher cache read failed; answering with a cache miss')
    }
    if (!this.connection.rooms.has(room)) return
    if (cached !== undefined) {
      this.connection.writeText(eventFrame(cached.event, channel, cached.data))
      return
    }
    this.connection.writeText(JSON.stringify({ event: 'pusher:cache_miss', channel }))
    this.#service.events.emit('cache_miss', { app: this.app, channel })
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
  }

  // ------------------------------------------------------------------ client events

  #clientEvent(event: string, message: Message, now: number): void {
    const channel = message.channel
    if (typeof channel !== 'string' || channel === '') {
      this.#error(PusherCode.ClientEventRejected, 'A client event needs a channel.')
      return
    }
    const reject = (text: string): void => this.#error(PusherCode.ClientEventRejected, text, channel)
    if (!this.app.enableClientMessages) return reject(PusherMessage.clientMessagesDisabled)
    const type = channelType(channel)
    if (type === 'private-encrypted') return reject('Client events are not supported on encrypted channels.')
    if (type !== 'private' && type !== 'presence') return reject('Client events are only supported on private and presence channels.')
    if (event.length > this.app.maxEventNameLength) return reject(`The event name is longer than ${this.app.maxEventNameLength} characters.`)
    const data = message.data
    const dataJson = data === undefined ? undefined : JSON.stringify(data)
    const size = typeof data === 'string' ? Buffer.byteLength(data) : dataJson === undefined ? 0 : Buffer.byteLength(dataJson)
    if (size > this.app.maxEventPayloadKb * 1024) return reject(`The event data is larger than ${this.app.maxEventPayloadKb} KiB.`)
    const room = roomOf(this.app, channel)
    if (!this.connection.rooms.has(room)) return reject('The connection is not subscribed to the channel.')
    if (!this.#clientEvents.take(now)) return reject(PusherMessage.clientEventsRateLimited)
    const member = type === 'presence' ? (this.connection.memberInfo?.get(room) as PresenceMember | undefined) : undefined
    const delivery: Delivery = { target: { kind: 'rooms', rooms: [room] }, except: [this.connection.id], event }
    if (dataJson !== undefined) delivery.data = dataJson
    if (member !== undefined) delivery.userId = member.user_id
    this.#hub.publish(delivery)
    if (this.#service.events.has('client_event')) {
      const info = { app: this.app, channel, event, data, socketId: this.connection.id }
      this.#service.events.emit('client_event', member === undefined ? info : { ...info, userId: member.user_id })
    }
  }

  // ------------------------------------------------------------------ sign-in

  #signin(request: Message | undefined): void {
    const connection = this.connection
    const userData = request?.user_data
    if (typeof userData !== 'string' || !verifyUserAuth(this.app, connection.id, userData, request!.auth)) {
      connection.close(PusherCode.Unauthorized, PusherMessage.unauthorized)
      return
    }
    const parsed = parseUserData(userData)
    if (parsed === undefined) {
      connection.close(PusherCode.Unauthorized, 'The user_data must be a JSON object with a non-empty "id" field.')
      return
    }
    if (this.#user !== undefined && this.#user.id !== parsed.id) {
      connection.close(PusherCode.Unauthorized, 'The connection is already signed in as another user.')
      return
    }
    if (this.#user === undefined) {
      this.#user = parsed
      this.#hub.identify(connection, this.app.roomPrefix + parsed.id)
      this.#hub.join(connection, [roomOf(this.app, userChannel(parsed.id))])
      clearTimeout(this.#signinTimer)
    }
    connection.writeText(eventFrame('pusher:signin_success', undefined, JSON.stringify({ user_data: userData })))
  }

  // ------------------------------------------------------------------ replies

  #succeeded(channel: string, dataJson: string): void {
    this.connection.writeText(eventFrame('pusher_internal:subscription_succeeded', channel, dataJson))
  }

  #subscriptionError(channel: string, error: SubscriptionErrorData): void {
    this.connection.writeText(subscriptionErrorFrame(channel, error))
  }

  #error(code: number | null, message: string, channel?: string): void {
    this.connection.writeText(errorFrame(code, message, channel))
  }
}

/** Incoming `data` may be an object or, from some clients, its JSON string (Pusher's double encoding). */
function objectOf(data: unknown): Message | undefined {
  let value = data
  if (typeof value === 'string') {
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

/**
 * Frames the message-rate limit leaves alone. Pings and pongs keep the connection alive and
 * unsubscribes only ever release resources; refusing them would close connections that do
 * nothing wrong (pusher-js unsubscribes from many channels at once). New subscriptions are
 * bounded by the channel cap instead, so pusher-js can resubscribe to many channels at once
 * after a reconnect.
 */
function exemptFromFrameLimit(event: string, channels: number, maxChannels: number): boolean {
  if (event === 'pusher:ping' || event === 'pusher:pong' || event === 'pusher:unsubscribe') return true
  return event === 'pusher:subscribe' && channels < maxChannels
}
