import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import type { RawData } from 'ws'
import { CloseCode, ErrorCode } from '../../shared/codes.js'
import {
  Envelope,
  HistoryRequest,
  JoinRequest,
  RoomsRequest,
  SystemEvent,
  type ConnectedPayload,
  type ErrorPayload,
  type HistoryReply,
  type JoinReply,
  type StreamPosition,
} from '../../shared/envelope.js'
import { RoomcastError } from '../../shared/errors.js'
import type { EventsDefinition } from '../../shared/events.js'
import { validatorFor } from '../../shared/validator.js'
import type { Connection, Identity } from '../hub/connection.js'
import type { Hub } from '../hub/hub.js'
import { isProtocolName } from '../hub/namespace.js'
import type { NativeOptions } from './options.js'
import { NATIVE_PROTOCOL, nativeFrame } from './codec.js'
import type { HandlerRegistry } from './handlers.js'
import { RateWindow } from '../hub/rate-window.js'
import { logConnection } from '../hub/connection-log.js'
import { ConnectionEncryption, isKeyExchangeHello, type EncryptionSetup } from './encryption.js'
import type { DeadlineQueue } from '../hub/deadlines.js'
import { HookTimeoutError, withHookTimeout } from '../hub/hook-timeout.js'
import { EncryptionError, ENCRYPTION_QUERY_PARAMETER } from '../../shared/e2e/index.js'
import { byteLengthOf, textOf } from '../ws/raw-data.js'
import type { SocketPeer } from '../ws/socket-peer.js'
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../shared/json-depth.js'
import { openStreams, readHistory } from './streams.js'
import { InvalidHookResultError } from '../hub/errors.js'

const envelopeValidator = validatorFor(Envelope)
const roomsValidator = validatorFor(RoomsRequest)
const joinValidator = validatorFor(JoinRequest)
const historyValidator = validatorFor(HistoryRequest)

/** A refusal answered to the client as an `error` that is not a server fault, so it never reaches the `error` hook. */
class Reply extends RoomcastError {}

/**
 * The native protocol for one connection: authentication state, join/leave, application
 * events with acks, and every bad-input path. Frames arrive here already size-checked by ws.
 */
export class NativeSession<E extends EventsDefinition> implements SocketPeer {
  readonly #hub: Hub<E>
  readonly #options: NativeOptions<E>
  readonly #handlers: HandlerRegistry<E>
  readonly #connection: Connection<E>
  readonly #rate: RateWindow | undefined
  readonly #authDeadlines: DeadlineQueue<NativeSession<E>>
  /** The ticket of this session's authentication deadline while it runs. */
  #authDeadline: number | undefined
  #authenticating = false
  readonly #encryptionSetup: EncryptionSetup | undefined
  /** Set when the client starts a key exchange; `established` once it completed. */
  #encryption: ConnectionEncryption<E> | undefined
  /** With `encryption: 'required'`, the pre-upgrade identity waits here for the handshake. */
  #deferredIdentity: Identity | undefined
  /** The connection is closing once its last frames have left (see `#closeAfterFlush`): it reads nothing more. */
  #stopped = false
  /** The upgrade request, for the in-band `authenticate` hook; let go once authenticated. */
  #request: FastifyRequest | undefined
  /** The client announced it will encrypt (`?e2e=1` on the URL). */
  readonly #encryptionAnnounced: boolean

  constructor(
    hub: Hub<E>,
    options: NativeOptions<E>,
    handlers: HandlerRegistry<E>,
    connection: Connection<E>,
    /** The upgrade request: the `authenticate` hook gets it. */
    request: FastifyRequest,
    /** Shared by the route's sessions; calls `authDeadlinePassed` `authTimeout` ms after `start`. */
    authDeadlines: DeadlineQueue<NativeSession<E>>,
    /** Shared by the route's sessions when encryption is on. */
    encryptionSetup?: EncryptionSetup,
  ) {
    this.#authDeadlines = authDeadlines
    this.#encryptionSetup = encryptionSetup
    this.#hub = hub
    this.#options = options
    this.#handlers = handlers
    this.#connection = connection
    this.#request = request
    this.#encryptionAnnounced = (request.query as Record<string, unknown> | undefined)?.[ENCRYPTION_QUERY_PARAMETER] === '1'
    this.#rate = options.rateLimit === false ? undefined : new RateWindow(options.rateLimit.max, options.rateLimit.windowMs)
  }

  /** Starts the session: authenticated at once when the request already was, else waits for `authenticate`. */
  start(preIdentity: Identity | undefined): void {
    if (this.#mustEncrypt) {
      // Nothing, not even `connected`, goes out in plaintext: authentication waits for the handshake.
      this.#deferredIdentity = preIdentity
      this.#authDeadline = this.#authDeadlines.add(this)
      return
    }
    if (preIdentity !== undefined || this.#options.authenticate === undefined) {
      this.#completeAuth(preIdentity ?? {}, undefined)
      return
    }
    this.#authDeadline = this.#authDeadlines.add(this)
  }

  /** The deadline no longer matters: the queue lets go of this session now, not `authTimeout` after it began. */
  #cancelAuthDeadline(): void {
    if (this.#authDeadline === undefined) return
    this.#authDeadlines.cancel(this.#authDeadline)
    this.#authDeadline = undefined
  }

  /** `authTimeout` has passed since `start`: a connection still not authenticated is closed. */
  authDeadlinePassed(): void {
    const connection = this.#connection
    // A refusal is on its way out (closing after its error frame): that close code stands.
    if (connection.state !== 'authenticating' || this.#stopped) return
    if (this.#mustEncrypt && this.#encryption?.established !== true) {
      connection.close(CloseCode.EncryptionRequired, 'encryption handshake not completed')
      return
    }
    this.#hub.metrics?.events.authFailed(NATIVE_PROTOCOL, '', 'timeout')
    connection.close(CloseCode.AuthTimeout, 'authentication timed out')
  }

  /** The connection's logger (`SocketPeer`). */
  get log(): FastifyBaseLogger {
    return this.#connection.log
  }

  /** One frame from the socket. */
  receive(raw: RawData, isBinary: boolean): void {
    // ws enforces the limit when roomcast configured it; an app that registered
    // @fastify/websocket itself may allow more, so it is checked here as well.
    const size = byteLengthOf(raw)
    if (size > this.#options.maxFrame) {
      logConnection(this.#connection, 'warn', 'roomcast: message too big, closing', { size, maxPayload: this.#options.maxFrame })
      this.#connection.close(CloseCode.MessageTooBig, 'message too big')
      return
    }
    const metrics = this.#hub.metrics
    if (metrics !== undefined) metrics.traffic(NATIVE_PROTOCOL).messagesIn++
    this.#receive(raw, isBinary, size)
  }

  /** A pong from the peer: it is alive (`heartbeat.mode: 'ping'`). */
  pong(): void {
    this.#connection.lastSeen = Date.now()
  }

  /** The connection is over for the server: it leaves everything now. */
  peerClosed(code: number, reason: string, refusedFrame: boolean): void {
    if (refusedFrame) logConnection(this.#connection, 'warn', 'roomcast: frame refused by the WebSocket layer', { code, reason })
    this.#cancelAuthDeadline()
    this.#hub.remove(this.#connection, code, reason)
  }

  /** The socket fell too far behind. */
  overflow(): void {
    logConnection(this.#connection, 'warn', 'roomcast: connection fell too far behind, closing', { dropped: this.#connection.dropped })
    this.#connection.close(CloseCode.PolicyViolation, 'backpressure: the socket fell too far behind')
  }

  /** The socket caught up after `count` messages were dropped: the client hears of its gap. */
  caughtUp(count: number, rooms?: Record<string, StreamPosition>): void {
    // Once per episode, when it ends: a slow reader must not cost a line per dropped message.
    logConnection(this.#connection, 'warn', 'roomcast: messages dropped for a slow connection', { dropped: count })
    this.#connection.writeText(nativeFrame(SystemEvent.Dropped, JSON.stringify(rooms === undefined ? { count } : { count, rooms })))
  }

  /** One frame, `size` bytes long (at most `maxFrame`). */
  #receive(raw: RawData, isBinary: boolean, size: number): void {
    const connection = this.#connection
    if (this.#stopped || connection.state === 'closing' || connection.state === 'closed') return
    // Frames between maxPayload and maxFrame are only allowed sealed; the message inside is checked once opened.
    if (size > this.#options.maxPayload && this.#encryption?.established !== true) {
      logConnection(connection, 'warn', 'roomcast: message too big, closing', { size, maxPayload: this.#options.maxPayload })
      connection.close(CloseCode.MessageTooBig, 'message too big')
      return
    }
    const now = Date.now()
    connection.lastSeen = now
    if (this.#rate !== undefined && !this.#rate.take(now)) {
      this.#hub.metrics?.events.rateLimited(NATIVE_PROTOCOL, '')
      this.#rejectInput(undefined, { code: ErrorCode.RateLimited, message: 'too many messages' })
      this.#closeAfterFlush(CloseCode.PolicyViolation, 'rate limit exceeded')
      return
    }
    if (isBinary) {
      this.#rejectInput(undefined, { code: ErrorCode.BinaryNotSupported, message: 'binary frames are not supported' })
      this.#closeAfterFlush(CloseCode.UnsupportedData, 'binary frames are not supported')
      return
    }
    const message = this.#parse(textOf(raw))
    if (message === undefined) return
    const encryption = this.#encryption
    if (encryption?.established === true) {
      if (message.event !== SystemEvent.Encrypted || typeof message.data !== 'string') {
        this.#encryptionViolation('plaintext frame after the key exchange')
        return
      }
      encryption.open(message.data).then(
        (text) => this.#receiveDecrypted(text),
        (err: unknown) => this.#encryptionViolation(err instanceof EncryptionError ? err.message : 'the encrypted frame was rejected'),
      )
      return
    }
    switch (message.event) {
      case SystemEvent.KeyExchange:
        this.#onKeyExchange(message.data, message.id)
        return
      case SystemEvent.Encrypted:
        this.#sendError(message.id, { code: ErrorCode.EncryptionFailed, message: 'no key exchange has completed', event: message.event })
        return
    }
    if (this.#mustEncrypt && message.event !== SystemEvent.Heartbeat) {
      this.#sendError(message.id, { code: ErrorCode.EncryptionFailed, message: 'complete the key exchange first', event: message.event })
      return
    }
    this.#dispatch(message)
  }

  /** Parses and checks one frame's text; answers bad input itself and returns undefined. */
  #parse(text: string): Envelope | undefined {
    // Before parsing: schema checks, handlers and replies walk values recursively.
    if (exceedsJsonDepth(text)) {
      this.#rejectInput(undefined, { code: ErrorCode.TooDeep, message: `the frame is nested deeper than ${MAX_JSON_DEPTH} levels` })
      return undefined
    }
    let message: unknown
    try {
      message = JSON.parse(text)
    } catch {
      this.#rejectInput(undefined, { code: ErrorCode.BadJson, message: 'the frame is not valid JSON' })
      return undefined
    }
    if (!envelopeValidator.check(message)) {
      const id = recoverId(message)
      this.#rejectInput(id, {
        code: ErrorCode.BadEnvelope,
        message: 'the frame is not an envelope { event, data?, id? }',
        details: envelopeValidator.errors(message),
      })
      return undefined
    }
    return message
  }

  #receiveDecrypted(text: string): void {
    const state = this.#connection.state
    if (this.#stopped || state === 'closing' || state === 'closed') return
    if (text.length * 3 > this.#options.maxPayload && Buffer.byteLength(text) > this.#options.maxPayload) {
      logConnection(this.#connection, 'warn', 'roomcast: message too big, closing', { maxPayload: this.#options.maxPayload })
      this.#connection.close(CloseCode.MessageTooBig, 'message too big')
      return
    }
    const message = this.#parse(text)
    if (message === undefined) return
    if (message.event === SystemEvent.KeyExchange || message.event === SystemEvent.Encrypted) {
      this.#encryptionViolation('a key exchange or nested encrypted frame inside the encrypted channel')
      return
    }
    this.#dispatch(message)
  }

  #onKeyExchange(data: unknown, id: number | undefined): void {
    if (this.#options.encryption === 'off' || this.#encryptionSetup === undefined) {
      this.#sendError(id, { code: ErrorCode.EncryptionFailed, message: 'encryption is not enabled on this server', event: SystemEvent.KeyExchange })
      return
    }
    if (this.#encryption !== undefined) {
      this.#encryptionViolation('a second key exchange')
      return
    }
    if (!isKeyExchangeHello(data)) {
      this.#sendError(id, {
        code: ErrorCode.EncryptionFailed,
        message: 'key-exchange expects { version: 1, publicKey, nonce }',
        event: SystemEvent.KeyExchange,
      })
      return
    }
    const encryption = new ConnectionEncryption(this.#connection, this.#encryptionSetup)
    this.#encryption = encryption
    encryption.accept(data, id).then(
      () => {
        const connection = this.#connection
        if (connection.state !== 'authenticating' || !this.#mustEncrypt) return
        if (this.#deferredIdentity !== undefined || this.#options.authenticate === undefined) {
          this.#completeAuth(this.#deferredIdentity ?? {}, undefined)
        }
      },
      (err: unknown) => {
        this.#connection.log.warn({ err, connectionId: this.#connection.id }, 'roomcast: key exchange failed')
        this.#encryptionViolation('the key exchange failed')
      },
    )
  }

  /**
   * Whether this connection must encrypt before anything else: always in `required` mode, and
   * in `optional` mode when the client announced it will (`?e2e=1` on the URL), so that not even
   * `connected` goes out in plaintext ahead of its key exchange.
   */
  get #mustEncrypt(): boolean {
    const mode = this.#options.encryption
    if (mode === 'required') return true
    if (mode === 'off') return false
    return this.#encryptionAnnounced
  }

  /** Tampered, replayed, reordered or plaintext frames: refused, never handed to the app. */
  #encryptionViolation(message: string): void {
    const connection = this.#connection
    if (this.#stopped || connection.state === 'closing' || connection.state === 'closed') return
    this.#rejectInput(undefined, { code: ErrorCode.EncryptionFailed, message })
    this.#closeAfterFlush(CloseCode.EncryptionViolation, message)
  }

  /**
   * Closes once the frames already sent have left. An error sent just before the close travels
   * encrypted, through an asynchronous queue; closing at once would discard it, and the client
   * would never learn why.
   */
  #closeAfterFlush(code: number, reason: string): void {
    this.#stopped = true
    const encryption = this.#encryption
    if (encryption?.established !== true) {
      this.#connection.close(code, reason)
      return
    }
    void encryption.drained().then(() => this.#connection.close(code, reason))
  }

  #dispatch(envelope: Envelope): void {
    const { event, data, id } = envelope
    if (event === SystemEvent.Heartbeat) return
    if (event === SystemEvent.Authenticate) {
      this.#onAuthenticate(data, id)
      return
    }
    if (this.#connection.state !== 'authenticated') {
      this.#sendError(id, { code: ErrorCode.NotAuthenticated, message: 'authenticate first', event })
      return
    }
    switch (event) {
      case SystemEvent.Join: {
        // Rooms whose history is replayed hold their live publications back until the ack is out.
        const releases: Array<() => void> = []
        this.#answer(
          id,
          event,
          () => this.#join(data, releases),
          () => {
            for (const release of releases) release()
          },
        )
        return
      }
      case SystemEvent.History:
        this.#answer(id, event, () => this.#history(data))
        return
      case SystemEvent.Leave:
        this.#answer(id, event, () => this.#leave(data))
        return
      default:
        this.#onAppEvent(event, data, id)
    }
  }

  #onAuthenticate(data: unknown, id: number | undefined): void {
    const authenticate = this.#options.authenticate
    if (this.#connection.state === 'authenticated' || authenticate === undefined) {
      this.#sendError(id, { code: ErrorCode.AlreadyAuthenticated, message: 'the connection is already authenticated', event: SystemEvent.Authenticate })
      return
    }
    if (this.#authenticating) {
      this.#sendError(id, { code: ErrorCode.AlreadyAuthenticated, message: 'authentication is in progress', event: SystemEvent.Authenticate })
      return
    }
    // Credentials that fail the events' `auth` schema never reach the hook: refused like bad ones,
    // with the schema's complaints, so a client with a bug learns what is wrong.
    const validator = this.#options.events?.authValidator()
    if (validator !== undefined && !validator.check(data)) {
      const details = validator.errors(data)
      this.#rejectInput(id, {
        code: ErrorCode.InvalidData,
        message: 'data of "authenticate" does not match its schema',
        event: SystemEvent.Authenticate,
        details,
      })
      this.#closeAfterFlush(CloseCode.AuthRefused, 'invalid authentication data')
      return
    }
    this.#authenticating = true
    let verdict: ReturnType<typeof authenticate>
    try {
      verdict = authenticate(data, this.#request!)
    } catch (err) {
      this.#authenticateFailed(id, err)
      return
    }
    // A synchronous verdict is applied at once: a storm of connections should not pay a promise
    // chain each for a hook that did not need one.
    if (!isThenable(verdict)) {
      this.#applyVerdict(verdict, id)
      return
    }
    // `authTimeout` still applies while the hook runs (4001 when it is the shorter one).
    withHookTimeout(verdict, 'authenticate', this.#options.hookTimeout, this.#connection.log).then(
      (identity) => this.#applyVerdict(identity, id),
      (err: unknown) => this.#authenticateFailed(id, err),
    )
  }

  #applyVerdict(identity: Identity | null | undefined, id: number | undefined): void {
    this.#authenticating = false
    if (this.#connection.state !== 'authenticating') return
    if (identity === null || identity === undefined) {
      this.#hub.metrics?.events.authFailed(NATIVE_PROTOCOL, '', 'refused')
      this.#refuse(id, 'authentication refused')
      return
    }
    this.#completeAuth(identity, id)
  }

  #authenticateFailed(id: number | undefined, err: unknown): void {
    this.#authenticating = false
    if (this.#connection.state === 'authenticating' && !this.#stopped) this.#hub.metrics?.events.authFailed(NATIVE_PROTOCOL, '', 'error')
    if (err instanceof HookTimeoutError) {
      // The server's fault, not the credentials': 1011 lets the client try again.
      if (this.#connection.state !== 'authenticating' || this.#stopped) return
      this.#sendError(id, { code: err.code, message: err.message, event: SystemEvent.Authenticate })
      this.#closeAfterFlush(CloseCode.InternalError, 'authentication hook timed out')
      return
    }
    this.#connection.log.warn({ err, connectionId: this.#connection.id }, 'roomcast: authenticate hook failed')
    if (this.#connection.state === 'authenticating') this.#refuse(id, 'authentication failed')
  }

  #refuse(id: number | undefined, message: string): void {
    logConnection(this.#connection, 'info', 'roomcast: authentication refused', { reason: message })
    this.#sendError(id, { code: ErrorCode.AuthRefused, message, event: SystemEvent.Authenticate })
    this.#closeAfterFlush(CloseCode.AuthRefused, message)
  }

  #completeAuth(identity: Identity, id: number | undefined): void {
    const connection = this.#connection
    if (typeof identity.userId === 'string' && isProtocolName(identity.userId)) {
      // A user id in another protocol's namespace (one built from client input, say) would share that protocol's user.
      connection.log.warn({ connectionId: connection.id }, 'roomcast: authenticate returned a user id in the reserved protocol namespace')
      this.#hub.metrics?.events.authFailed(NATIVE_PROTOCOL, '', 'refused')
      this.#refuse(id, 'authentication refused')
      return
    }
    this.#hub.authenticate(connection, identity)
    // Authenticated for good: nothing reads the upgrade request any more.
    this.#request = undefined
    this.#cancelAuthDeadline()
    const defaultRooms = this.#options.defaultRooms
    if (defaultRooms === undefined) {
      this.#sendConnected(id)
      return
    }
    Promise.resolve()
      .then(() => withHookTimeout(defaultRooms(connection), 'defaultRooms', this.#options.hookTimeout, connection.log))
      .then((rooms) => {
        if (!Array.isArray(rooms)) throw new InvalidHookResultError('defaultRooms must return an array of room names')
        return rooms.filter((room): room is string => typeof room === 'string' && room.length > 0)
      })
      .catch((err: unknown) => {
        // The connection still comes up, in no default room: one failing lookup should not lock users out.
        // A time-out was logged already, as a warning.
        if (!(err instanceof HookTimeoutError)) this.#connection.log.error({ err, connectionId: connection.id }, 'roomcast: defaultRooms failed')
        return []
      })
      .then((rooms) => {
        if (connection.state !== 'authenticated') return
        this.#hub.join(connection, rooms)
        this.#sendConnected(id)
      })
      .catch((err: unknown) => {
        this.#connection.log.error({ err, connectionId: connection.id }, 'roomcast: completing authentication failed')
        connection.close(CloseCode.InternalError, 'internal error')
      })
  }

  #sendConnected(id: number | undefined): void {
    const connection = this.#connection
    // Built by concatenation: every connection sends one, and only its id, rooms and user vary.
    let payload =
      '{"connectionId":' + JSON.stringify(connection.id) + ',"rooms":' + JSON.stringify([...connection.rooms]) + ',"heartbeat":' + heartbeatJson(this.#options)
    if (connection.userId !== undefined) payload += ',"userId":' + JSON.stringify(connection.userId)
    connection.writeText(nativeFrame(SystemEvent.Connected, payload + '}', id === undefined ? undefined : { id }))
  }

  /** Synchronous unless `authorizeJoin` is set: most joins need no promise. */
  #join(data: unknown, releases: Array<() => void>): JoinReply | Promise<JoinReply> {
    if (!joinValidator.check(data)) {
      throw new Reply(
        ErrorCode.InvalidRoom,
        'join expects { rooms: string[] } with 1 to 100 names of 1 to 200 characters, none of them a control character',
        joinValidator.errors(data),
      )
    }
    const connection = this.#connection
    const names = data.rooms.length === 1 ? data.rooms : [...new Set(data.rooms)]
    const wanted = names.filter((room) => !connection.rooms.has(room))
    // Other protocols' rooms (Pusher channels) cannot be named here: RoomName refuses their marker.
    this.#checkRoomLimit(wanted)
    const authorize = this.#options.authorizeJoin
    if (authorize === undefined || wanted.length === 0) return this.#admit(data, names, wanted, wanted, releases)
    // A time-out rejects with `hook_timeout` (a RoomcastError): the join gets that error, the connection stays.
    return Promise.resolve(withHookTimeout(authorize({ connection, rooms: [...wanted] }), 'authorizeJoin', this.#options.hookTimeout, connection.log)).then(
      (verdict) =>
        this.#admit(data, names, wanted, verdict === true ? wanted : verdict === false ? [] : wanted.filter((room) => verdict.includes(room)), releases),
    )
  }

  #admit(
    request: JoinRequest,
    names: readonly string[],
    wanted: readonly string[],
    allowed: readonly string[],
    releases: Array<() => void>,
  ): JoinReply | Promise<JoinReply> {
    const connection = this.#connection
    if (connection.state !== 'authenticated') throw new Reply(ErrorCode.Disconnected, 'the connection closed')
    // Without authorizeJoin nothing was refused, and there is nothing to look up.
    const refused = allowed === wanted ? [] : wanted.filter((room) => !allowed.includes(room))
    if (refused.length > 0) this.#hub.metrics?.events.joinRefused(NATIVE_PROTOCOL, '')
    if (allowed.length === 0 && refused.length > 0) {
      logConnection(connection, 'info', 'roomcast: join refused', { rooms: refused })
      throw new Reply(ErrorCode.JoinRefused, `not allowed to join ${refused.join(', ')}`)
    }
    // Checked again: another join of this connection may have completed while authorizeJoin ran.
    const adding = allowed.some((room) => connection.rooms.has(room)) ? allowed.filter((room) => !connection.rooms.has(room)) : allowed
    this.#checkRoomLimit(adding)
    // Rooms with history: their live publications are held from before the join, while their
    // streams are read and replayed, so none falls between the read and the live traffic.
    const streams = this.#hub.options.history === undefined ? undefined : openStreams(this.#hub, connection, request, adding, releases)
    this.#hub.join(connection, allowed)
    const reply: JoinReply = { joined: names.filter((room) => connection.rooms.has(room)), refused }
    logConnection(connection, 'debug', 'roomcast: joined', refused.length === 0 ? { rooms: reply.joined } : { rooms: reply.joined, refused })
    if (streams === undefined) return reply
    return streams(reply.joined).then((states) => {
      if (states !== undefined) reply.streams = states
      return reply
    })
  }

  /** A `history` request: authorized like a join (a member of the room, or `authorizeJoin` allows it). */
  async #history(data: unknown): Promise<HistoryReply> {
    if (!historyValidator.check(data)) {
      throw new Reply(ErrorCode.InvalidData, 'history expects { room, since?: { epoch, offset }, limit?: 1 to 1000, reverse? }', historyValidator.errors(data))
    }
    const connection = this.#connection
    const room = data.room
    const authorize = this.#options.authorizeJoin
    if (!connection.rooms.has(room) && authorize !== undefined) {
      const verdict = await withHookTimeout(authorize({ connection, rooms: [room] }), 'authorizeJoin', this.#options.hookTimeout, connection.log)
      if (verdict !== true && !(Array.isArray(verdict) && verdict.includes(room))) {
        throw new Reply(ErrorCode.JoinRefused, `not allowed to read the history of ${room}`)
      }
    }
    const reply = await readHistory(this.#hub, room, data)
    if (reply === undefined) throw new Reply(ErrorCode.NoHistory, `${room} keeps no history`)
    return reply
  }

  #checkRoomLimit(adding: readonly string[]): void {
    if (this.#connection.rooms.size + adding.length > this.#options.maxRoomsPerConnection) {
      throw new Reply(ErrorCode.RoomLimit, `a connection may be in at most ${this.#options.maxRoomsPerConnection} rooms`)
    }
  }

  #leave(data: unknown): { left: string[] } {
    if (!roomsValidator.check(data)) {
      throw new Reply(ErrorCode.InvalidRoom, 'leave expects { rooms: string[] }', roomsValidator.errors(data))
    }
    const left = data.rooms.filter((room) => this.#connection.rooms.has(room))
    this.#hub.leave(this.#connection, left)
    logConnection(this.#connection, 'debug', 'roomcast: left', { rooms: left })
    return { left }
  }

  #onAppEvent(event: string, data: unknown, id: number | undefined): void {
    const handler = this.#handlers.get(event)
    const events = this.#options.events
    const validator = events?.toServerValidator(event)
    if (handler === undefined || (events !== undefined && validator === undefined)) {
      this.#sendError(id, { code: ErrorCode.UnknownEvent, message: `unknown event "${event}"`, event })
      this.#hub.hooks.run('error', new RoomcastError(ErrorCode.UnknownEvent, `unknown event "${event}"`), this.#connection)
      return
    }
    if (validator !== undefined && !validator.check(data)) {
      const details = validator.errors(data)
      this.#sendError(id, { code: ErrorCode.InvalidData, message: `data of "${event}" does not match its schema`, event, details })
      this.#hub.hooks.run('error', new RoomcastError(ErrorCode.InvalidData, `invalid data for "${event}"`, details), this.#connection)
      return
    }
    this.#answer(id, event, () => handler(this.#connection, data))
  }

  /**
   * Runs a request's work and sends its ack or error (only when the client asked, by an id);
   * `after` runs right after the answer is written, whatever it was.
   */
  #answer(id: number | undefined, event: string, work: () => unknown, after?: () => void): void {
    let result: unknown
    try {
      result = work()
    } catch (err) {
      this.#fail(id, event, err)
      after?.()
      return
    }
    if (result instanceof Promise) {
      result.then(
        (value: unknown) => {
          this.#ack(id, event, value)
          after?.()
        },
        (err: unknown) => {
          this.#fail(id, event, err)
          after?.()
        },
      )
    } else {
      this.#ack(id, event, result)
      after?.()
    }
  }

  #ack(id: number | undefined, event: string, value: unknown): void {
    if (id === undefined) return
    let data: string | undefined
    try {
      data = value === undefined ? undefined : JSON.stringify(value)
    } catch (err) {
      // A reply that is not JSON (a BigInt, a cycle) is the handler's fault: report it, never throw
      // out of the socket's message listener.
      this.#fail(id, event, err)
      return
    }
    this.#connection.writeText(nativeFrame(SystemEvent.Ack, data, { id }))
  }

  #fail(id: number | undefined, event: string, err: unknown): void {
    if (err instanceof RoomcastError) {
      const payload: ErrorPayload = { code: err.code, message: err.message, event }
      if (err.details !== undefined) payload.details = err.details
      this.#sendError(id, payload)
      if (!(err instanceof Reply)) this.#hub.hooks.run('error', err, this.#connection)
      return
    }
    const error = err instanceof Error ? err : new Error(String(err))
    this.#connection.log.error({ err: error, event, connectionId: this.#connection.id }, 'roomcast: event handler failed')
    this.#hub.hooks.run('error', error, this.#connection)
    this.#sendError(id, { code: ErrorCode.HandlerError, message: `the handler of "${event}" failed`, event })
  }

  /** Bad input: the client gets the error, the application's `error` hook hears of it, the log warns. */
  #rejectInput(id: number | undefined, payload: ErrorPayload): void {
    logConnection(this.#connection, 'warn', 'roomcast: input refused', { code: payload.code, detail: payload.message })
    this.#sendError(id, payload)
    this.#hub.hooks.run('error', new RoomcastError(payload.code, payload.message, payload.details), this.#connection)
  }

  #sendError(id: number | undefined, payload: ErrorPayload): void {
    this.#connection.writeText(nativeFrame(SystemEvent.Error, JSON.stringify(payload), id === undefined ? undefined : { id }))
  }
}

const heartbeatJsonByOptions = new WeakMap<object, string>()

/** The `heartbeat` member of `connected`, the same for every connection of a route. */
function heartbeatJson(options: NativeOptions<EventsDefinition>): string {
  let json = heartbeatJsonByOptions.get(options)
  if (json === undefined) {
    const heartbeat: ConnectedPayload['heartbeat'] = { interval: options.heartbeat.interval, timeout: options.heartbeat.timeout }
    // Announced only when not the default, so a client knows silence proves nothing.
    if (options.heartbeat.mode === 'ping') heartbeat.mode = 'ping'
    json = JSON.stringify(heartbeat)
    heartbeatJsonByOptions.set(options, json)
  }
  return json
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
}

/** A request id from a malformed envelope, so the error can still answer the request. */
function recoverId(message: unknown): number | undefined {
  if (typeof message !== 'object' || message === null) return undefined
  const id = (message as { id?: unknown }).id
  return Number.isSafeInteger(id) && (id as number) >= 0 ? (id as number) : undefined
}
