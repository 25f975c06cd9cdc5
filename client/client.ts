import { isClientEvent } from '../shared/client-events.js'
import { CloseCode, ErrorCode, terminalCloseCodes } from '../shared/codes.js'
import type { ConnectedPayload, ErrorDetail, JoinReply, DroppedPayload, LeaveReply, MembershipPayload, PresencePayload } from '../shared/envelope.js'
import { isSystemEvent } from '../shared/system-events.js'
import { RoomcastError } from '../shared/errors.js'
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../shared/json-depth.js'
import type { AnyEvents, EventsDefinition, ReplyData, ToServerData, ToServerEvent } from '../shared/events.js'
import { Backoff } from './backoff.js'
import { ListenerRegistry } from './emitter.js'
import type { EventHandler, ListenableEvent, MessageMeta } from './events.js'
import { Link } from './link.js'
import { NetworkHints } from './network.js'
import { clientDefaults, resolveClientOptions, resolveUrl, type ResolvedClientOptions, type RoomcastClientOptions } from './options.js'
import { Outbox, type QueuedMessage } from './outbox.js'
import { RequestTracker } from './requests.js'
import { StateMachine, type ClientState } from './state.js'
import { Watchdog } from './watchdog.js'

const HEARTBEAT_FRAME = '{"event":"heartbeat"}'
/** Rooms per `join` request, the server's limit. */
const ROOMS_PER_REQUEST = 100
const NO_META: MessageMeta = Object.freeze({})
/** Reported for a connection given up by the client without a close handshake (RFC 6455's 1006). */
const ABANDONED = 1006

interface WireEnvelope {
  event: string
  data?: unknown
  id?: number
  room?: string
}

type Credentials = { ok: true; data: unknown } | { ok: false; error: unknown }

export interface RequestOptions {
  /** Time to wait for the reply, in ms, counted from the call. Default: the client's `requestTimeout`. */
  timeout?: number
}

/**
 * The roomcast client. Typed by the application's `defineEvents` map:
 * `new RoomcastClient<typeof events>(url, { events, auth })`.
 *
 * It connects on construction (unless `autoConnect: false`), authenticates, restores its
 * rooms after every reconnection, answers the server's heartbeats and reconnects with
 * exponential backoff when the connection is lost, until `close()` or a terminal close code.
 */
export class RoomcastClient<E extends EventsDefinition = AnyEvents> {
  /** The socket URL, resolved (`/ws` in a page becomes `wss://host/ws`). */
  readonly url: string
  /** `url` plus what the transform announces in the query. */
  readonly #socketUrl: string
  readonly #options: ResolvedClientOptions<E>
  readonly #listeners: ListenerRegistry
  readonly #machine: StateMachine
  readonly #requests = new RequestTracker()
  readonly #outbox: Outbox
  readonly #backoff: Backoff
  readonly #watchdog: Watchdog
  readonly #network: NetworkHints
  #link: Link | undefined
  #connectTimer: ReturnType<typeof setTimeout> | undefined
  #retryTimer: ReturnType<typeof setTimeout> | undefined
  /** Rooms the client is in, and restores after a reconnection. */
  readonly #rooms = new Set<string>()
  /**
   * Rooms left on purpose that the server put the client in on its own (`defaultRooms`): when
   * it does so again after a reconnection, the client leaves again. Only rooms from the last
   * `connected` are kept, so the set stays as small as the server's own list.
   */
  readonly #declined = new Set<string>()
  /** The rooms the server put this connection in when it said `connected`. */
  #handedOut: ReadonlySet<string> = new Set()
  #connectionId: string | undefined
  #userId: string | undefined
  /** The server's refusal of this attempt's `authenticate`, reported before its 4003 close. */
  #refusal: RoomcastError | undefined
  #attemptCount = 0
  #everConnected = false
  /** Why the client stopped; `ready()` rejects with it. */
  #end: RoomcastError | undefined
  #readyWaiters: Array<{ resolve: () => void; reject: (error: RoomcastError) => void }> = []

  constructor(url: string | URL, options: RoomcastClientOptions<E> = {}) {
    this.url = resolveUrl(url)
    this.#options = resolveClientOptions(options)
    this.#socketUrl = withQuery(this.url, this.#options.transform?.query)
    const reconnect = this.#options.reconnect
    this.#backoff = new Backoff(reconnect === false ? clientDefaults.reconnect : reconnect)
    this.#outbox = new Outbox(this.#options.queue)
    this.#listeners = new ListenerRegistry((error, event) => this.#onListenerError(error, event))
    this.#machine = new StateMachine('closed', (state, previous) => this.#listeners.emit('state', { state, previous }))
    this.#watchdog = new Watchdog(() =>
      this.#drop(CloseCode.HeartbeatTimeout, 'nothing received from the server within its heartbeat interval and the grace period', true),
    )
    this.#network = new NetworkHints({ online: () => this.#onOnline(), offline: () => this.#onOffline() })
    if (this.#options.autoConnect) this.connect()
  }

  // ------------------------------------------------------------------ state

  get state(): ClientState {
    return this.#machine.current
  }

  /** The rooms the client is in (or will be restored to when it reconnects). */
  get rooms(): string[] {
    return [...this.#rooms]
  }

  /** The server's id of the current connection, while connected. */
  get connectionId(): string | undefined {
    return this.#connectionId
  }

  /** The user id the server authenticated, while connected. */
  get userId(): string | undefined {
    return this.#userId
  }

  /** Whether the current connection runs through a transform (end-to-end encryption). */
  get encrypted(): boolean {
    return this.#machine.current === 'connected' && this.#link?.transformed === true
  }

  /** Messages waiting in the offline queue. */
  get queued(): number {
    return this.#outbox.size
  }

  /** Resolves when connected (at once if it is); rejects when the client stops before that. */
  ready(): Promise<void> {
    if (this.#machine.current === 'connected') return Promise.resolve()
    if (this.#machine.stopped) {
      return Promise.reject(this.#end ?? new RoomcastError(ErrorCode.Disconnected, 'the client is not connecting; call connect()'))
    }
    return new Promise((resolve, reject) => this.#readyWaiters.push({ resolve, reject }))
  }

  /** Starts connecting: after `autoConnect: false`, after `close()`, after a terminal disconnect; while reconnecting, retries now. */
  connect(): void {
    const state = this.#machine.current
    if (state === 'reconnecting') {
      this.#retryNow()
      return
    }
    if (state !== 'closed' && state !== 'disconnected') return
    this.#end = undefined
    this.#backoff.reset()
    this.#attemptCount = 0
    if (this.#options.networkHints) this.#network.start()
    this.#open()
  }

  /** Stops everything: closes the socket (1000), cancels timers, rejects pending requests and queued messages. */
  close(): void {
    if (this.#machine.stopped) return
    this.#stop('closed', new RoomcastError(ErrorCode.Disconnected, 'the client was closed'), CloseCode.Normal, 'client closed')
  }

  // ------------------------------------------------------------------ events

  /** Listens to an application event (typed payload and meta) or to one of the client's own events. */
  on<K extends ListenableEvent<E>>(event: K, handler: EventHandler<E, K>): this {
    this.#listeners.add(event, handler as (...args: never[]) => void, false)
    return this
  }

  once<K extends ListenableEvent<E>>(event: K, handler: EventHandler<E, K>): this {
    this.#listeners.add(event, handler as (...args: never[]) => void, true)
    return this
  }

  /** Removes a handler, or every handler of the event when none is given. */
  off<K extends ListenableEvent<E>>(event: K, handler?: EventHandler<E, K>): this {
    this.#listeners.remove(event, handler as ((...args: never[]) => void) | undefined)
    return this
  }

  // ------------------------------------------------------------------ sending

  /**
   * Sends an event to the server. `data` is checked against the event's schema first; on
   * failure this throws `invalid_data` (with `details`) and nothing is sent. While not
   * connected the message is queued (see the `queue` option); when it cannot be, this throws
   * `not_sent`.
   */
  emit<K extends ToServerEvent<E>>(event: K, data: ToServerData<E, K>): void {
    this.#check(event, data)
    const refusal = this.#submit(event, data)
    if (refusal !== undefined) throw refusal
  }

  /**
   * Sends an event and resolves with the server's ack (typed by the event's reply schema).
   * Rejects with a `RoomcastError`: the server's code on an error reply, `timeout`,
   * `disconnected` when the connection drops before the reply, `invalid_data` / `not_sent`
   * when it is refused before sending.
   */
  request<K extends ToServerEvent<E>>(event: K, data: ToServerData<E, K>, options: RequestOptions = {}): Promise<ReplyData<E, K>> {
    try {
      this.#check(event, data)
    } catch (error) {
      return Promise.reject(error)
    }
    return this.#call(event, data, options.timeout) as Promise<ReplyData<E, K>>
  }

  /**
   * Joins rooms. Resolves with the server's answer (`refused` lists rooms not allowed when
   * others were); rejects with the server's code when none was allowed (`join_refused`,
   * `room_limit`, `invalid_room`). Joined rooms are restored after every reconnection.
   */
  async join(rooms: string | readonly string[], options: RequestOptions = {}): Promise<JoinReply> {
    const names = typeof rooms === 'string' ? [rooms] : [...rooms]
    const reply = (await this.#call('join', { rooms: names }, options.timeout)) as JoinReply
    for (const room of reply.joined) {
      this.#rooms.add(room)
      this.#declined.delete(room)
    }
    return reply
  }

  /**
   * Leaves rooms. They are forgotten at once (never restored); when connected, resolves with
   * the server's answer, otherwise right away since there is nothing to undo on the server.
   */
  async leave(rooms: string | readonly string[], options: RequestOptions = {}): Promise<LeaveReply> {
    const names = typeof rooms === 'string' ? [rooms] : [...rooms]
    const left = names.filter((room) => this.#rooms.has(room))
    for (const room of names) {
      this.#rooms.delete(room)
      if (this.#handedOut.has(room)) this.#declined.add(room)
    }
    if (this.#machine.current !== 'connected') return { left }
    return (await this.#call('leave', { rooms: names }, options.timeout)) as LeaveReply
  }

  #check(event: string, data: unknown): void {
    if (isSystemEvent(event) || isClientEvent(event)) {
      throw new RoomcastError(ErrorCode.NotSent, `"${event}" is a protocol event; use the client's own methods`)
    }
    const events = this.#options.events
    if (events === undefined || !this.#options.validate) return
    const validator = events.toServerValidator(event)
    if (validator === undefined) throw new RoomcastError(ErrorCode.UnknownEvent, `unknown event "${event}"`)
    if (!validator.check(data)) {
      throw new RoomcastError(ErrorCode.InvalidData, `data of "${event}" does not match its schema`, validator.errors(data))
    }
  }

  #call(event: string, data: unknown, timeout = this.#options.requestTimeout): Promise<unknown> {
    if (this.#machine.stopped) return Promise.reject(this.#notSent())
    const { id, reply } = this.#requests.open(event, timeout, (expired) => this.#outbox.drop(expired))
    const refusal = this.#submit(event, data, id)
    if (refusal !== undefined) this.#requests.reject(id, refusal)
    return reply
  }

  /** Sends now when connected, else queues; returns the refusal when neither is possible. */
  #submit(event: string, data: unknown, id?: number): RoomcastError | undefined {
    if (this.#machine.stopped) return this.#notSent()
    const message = encodeMessage(event, data, id)
    if (message instanceof RoomcastError) return message
    if (this.#transmit(message)) return undefined
    if (this.#outbox.push(message)) return undefined
    return new RoomcastError(
      ErrorCode.NotSent,
      this.#outbox.limit === 0
        ? `"${message.event}" was not sent: the client is ${this.#machine.current} and queueing is off`
        : `"${message.event}" was not sent: the client is ${this.#machine.current} and the queue is full (${this.#outbox.limit})`,
    )
  }

  #transmit(message: QueuedMessage): boolean {
    const link = this.#link
    if (this.#machine.current !== 'connected' || link === undefined) return false
    if (!link.send(message.text)) return false
    if (message.id !== undefined) this.#requests.markSent(message.id)
    return true
  }

  #notSent(): RoomcastError {
    return new RoomcastError(ErrorCode.NotSent, `not sent: the client is ${this.#machine.current}`)
  }

  /** A request on a link that is not `connected` yet (authenticate, room restore). */
  #direct(link: Link, event: string, data: unknown): Promise<unknown> {
    const { id, reply } = this.#requests.open(event, this.#options.connectTimeout)
    const message = encodeMessage(event, data, id)
    if (message instanceof RoomcastError) {
      this.#requests.reject(id, message)
      return reply
    }
    this.#requests.markSent(id)
    link.send(message.text)
    return reply
  }

  // ------------------------------------------------------------------ connection life cycle

  #open(): void {
    this.#machine.to('connecting')
    if (this.#machine.current !== 'connecting') return
    this.#refusal = undefined
    const credentials = this.#credentials(this.#attemptCount++)
    this.#connectTimer = setTimeout(() => {
      this.#connectTimer = undefined
      this.#drop(ABANDONED, `not connected within ${this.#options.connectTimeout} ms`, true)
    }, this.#options.connectTimeout)
    let link: Link
    try {
      link = new Link(this.#socketUrl, this.#options.WebSocket, this.#options.transform, {
        opened: () => this.#onOpened(link, credentials),
        received: (text) => {
          if (this.#link === link) this.#onFrame(link, text)
        },
        closed: (code, reason) => {
          if (this.#link === link) this.#lost(code, reason)
        },
        failed: (error, fatal) => {
          if (this.#link !== link) return
          this.#listeners.emit('error', error)
          if (fatal && this.#link === link) this.#drop(CloseCode.EncryptionViolation, error.message)
        },
      })
    } catch (error) {
      this.#listeners.emit('error', asRoomcastError(error, ErrorCode.Disconnected, 'the WebSocket could not be created'))
      if (this.#machine.current === 'connecting') this.#lost(ABANDONED, 'the WebSocket could not be created')
      return
    }
    this.#link = link
  }

  /** Credentials for one attempt, fetched while the socket opens. Never rejects. */
  #credentials(attempt: number): Promise<Credentials> | undefined {
    const auth = this.#options.auth
    if (auth === undefined) return undefined
    return new Promise<unknown>((resolve) => resolve(auth({ attempt }))).then(
      (data): Credentials => ({ ok: true, data }),
      (error: unknown): Credentials => ({ ok: false, error }),
    )
  }

  #onOpened(link: Link, credentials: Promise<Credentials> | undefined): void {
    if (this.#link !== link) return
    this.#machine.to('authenticating')
    // Without credentials the server authenticates on its own (or needs none) and says `connected`.
    if (credentials === undefined) return
    void credentials.then((result) => {
      if (this.#link !== link || this.#machine.current !== 'authenticating') return
      if (!result.ok) {
        this.#listeners.emit('error', asRoomcastError(result.error, ErrorCode.AuthFailed, 'the auth function failed', true))
        if (this.#link === link) this.#drop(CloseCode.Normal, 'the auth function failed')
        return
      }
      this.#direct(link, 'authenticate', result.data).catch((error: RoomcastError) => {
        // `connected` resolves this request. An already-authenticated server (pre-upgrade auth)
        // says `connected` first and then refuses the redundant `authenticate`: harmless.
        if (error.code === ErrorCode.AuthRefused) this.#refusal = error
        else if (error.code !== ErrorCode.AlreadyAuthenticated && error.code !== ErrorCode.Timeout && error.code !== ErrorCode.Disconnected) {
          this.#listeners.emit('error', error)
        }
      })
    })
  }

  #onFrame(link: Link, text: string): void {
    this.#watchdog.touch()
    // Refused before parsing: schema checks and listeners walk values recursively, and would throw.
    if (exceedsJsonDepth(text)) {
      this.#listeners.emit('error', new RoomcastError(ErrorCode.TooDeep, `the server sent a frame nested deeper than ${MAX_JSON_DEPTH} levels`))
      return
    }
    let envelope: unknown
    try {
      envelope = JSON.parse(text)
    } catch {
      this.#listeners.emit('error', new RoomcastError(ErrorCode.BadJson, 'the server sent a frame that is not JSON'))
      return
    }
    if (!isEnvelope(envelope)) {
      this.#listeners.emit('error', new RoomcastError(ErrorCode.BadEnvelope, 'the server sent a frame that is not an envelope'))
      return
    }
    switch (envelope.event) {
      case 'ack':
        if (envelope.id !== undefined) this.#requests.resolve(envelope.id, envelope.data)
        return
      case 'error':
        this.#onErrorFrame(envelope)
        return
      case 'heartbeat':
        link.send(HEARTBEAT_FRAME)
        return
      case 'connected':
        this.#onConnected(link, envelope)
        return
      case 'presence':
        if (isPresence(envelope.data)) this.#listeners.emit('presence', envelope.data)
        else this.#listeners.emit('error', new RoomcastError(ErrorCode.BadEnvelope, 'the server sent a malformed presence event'))
        return
      case 'membership':
        this.#onMembership(envelope.data)
        return
      case 'dropped':
        if (isDropped(envelope.data)) this.#listeners.emit('dropped', envelope.data)
        else this.#listeners.emit('error', new RoomcastError(ErrorCode.BadEnvelope, 'the server sent a malformed dropped event'))
        return
      default:
        this.#onAppEvent(envelope)
    }
  }

  #onAppEvent(envelope: WireEnvelope): void {
    const { event, data } = envelope
    if (isSystemEvent(event) || isClientEvent(event)) {
      this.#listeners.emit('error', new RoomcastError(ErrorCode.UnknownEvent, `the server sent "${event}", a reserved name; it was ignored`))
      return
    }
    const events = this.#options.events
    if (events !== undefined && this.#options.validate) {
      const validator = events.toClientValidator(event)
      if (validator === undefined) {
        this.#listeners.emit('error', new RoomcastError(ErrorCode.UnknownEvent, `the server sent an unknown event "${event}"`))
        return
      }
      if (!validator.check(data)) {
        this.#listeners.emit('error', new RoomcastError(ErrorCode.InvalidData, `the server sent "${event}" with data that does not match its schema`, validator.errors(data)))
        return
      }
    }
    this.#listeners.emit(event, data, envelope.room === undefined ? NO_META : { room: envelope.room })
  }

  #onErrorFrame(envelope: WireEnvelope): void {
    const payload = (typeof envelope.data === 'object' && envelope.data !== null ? envelope.data : {}) as Record<string, unknown>
    const code = typeof payload.code === 'string' ? payload.code : ErrorCode.Internal
    const message = typeof payload.message === 'string' ? payload.message : 'the server reported an error'
    const details = Array.isArray(payload.details) ? (payload.details as ErrorDetail[]) : undefined
    const error = new RoomcastError(code, message, details)
    if (envelope.id !== undefined) {
      if (this.#requests.reject(envelope.id, error)) return
      // A late answer to a request that already timed out: its caller has been told.
      if (this.#requests.issued(envelope.id)) return
    }
    this.#listeners.emit('error', error)
  }

  #onConnected(link: Link, envelope: WireEnvelope): void {
    if (this.#machine.current !== 'authenticating') return
    const payload = envelope.data
    if (!isConnectedPayload(payload)) {
      this.#listeners.emit('error', new RoomcastError(ErrorCode.BadEnvelope, 'the server sent a malformed connected event'))
      if (this.#link === link) this.#drop(CloseCode.Normal, 'malformed connected event')
      return
    }
    if (envelope.id !== undefined) this.#requests.resolve(envelope.id, payload)
    this.#connectionId = payload.connectionId
    this.#userId = payload.userId
    const grace = this.#options.heartbeatGrace
    // In `ping` mode the server's probes are invisible here, so silence proves nothing.
    if (grace !== false && payload.heartbeat.mode !== 'ping') this.#watchdog.start(payload.heartbeat.interval + grace)
    void this.#restoreRooms(link, payload.rooms)
  }

  /** Puts the new connection back in the client's rooms before it counts as connected. */
  async #restoreRooms(link: Link, given: string[]): Promise<void> {
    const serverRooms = new Set(given)
    this.#handedOut = serverRooms
    for (const room of this.#declined) if (!serverRooms.has(room)) this.#declined.delete(room)
    const unwanted = given.filter((room) => this.#declined.has(room))
    for (const room of given) if (!this.#declined.has(room)) this.#rooms.add(room)
    const missing = [...this.#rooms].filter((room) => !serverRooms.has(room))
    const work: Array<Promise<void>> = []
    for (let i = 0; i < missing.length; i += ROOMS_PER_REQUEST) {
      const chunk = missing.slice(i, i + ROOMS_PER_REQUEST)
      work.push(
        this.#direct(link, 'join', { rooms: chunk }).then(
          (reply) => {
            for (const room of (reply as JoinReply).refused ?? []) this.#forgetRoom(room, new RoomcastError(ErrorCode.JoinRefused, `not allowed back into ${room}`))
          },
          (error: RoomcastError) => {
            if (error.code === ErrorCode.Timeout || error.code === ErrorCode.Disconnected) throw error
            for (const room of chunk) this.#forgetRoom(room, new RoomcastError(error.code, `could not rejoin ${room}: ${error.message}`))
          },
        ),
      )
    }
    if (unwanted.length > 0) work.push(this.#direct(link, 'leave', { rooms: unwanted }).then(() => undefined))
    try {
      await Promise.all(work)
    } catch {
      return // the link died or stalled; its close or the connect timeout takes over
    }
    if (this.#link !== link || this.#machine.current !== 'authenticating') return
    // Rooms left while they were being restored.
    const stale = missing.filter((room) => !this.#rooms.has(room))
    if (stale.length > 0) this.#direct(link, 'leave', { rooms: stale }).catch(() => {})
    this.#becomeConnected(link)
  }

  #onMembership(data: unknown): void {
    if (!isMembership(data)) {
      this.#listeners.emit('error', new RoomcastError(ErrorCode.BadEnvelope, 'the server sent a malformed membership event'))
      return
    }
    for (const room of data.joined) {
      this.#rooms.add(room)
      this.#declined.delete(room)
    }
    for (const room of data.left) this.#rooms.delete(room)
    this.#listeners.emit('membership', data)
  }

  #forgetRoom(room: string, error: RoomcastError): void {
    this.#rooms.delete(room)
    this.#listeners.emit('error', error)
  }

  #becomeConnected(link: Link): void {
    clearTimeout(this.#connectTimer)
    this.#connectTimer = undefined
    this.#backoff.reset()
    const reconnected = this.#everConnected
    this.#everConnected = true
    this.#machine.to('connected')
    if (this.#machine.current !== 'connected') return
    for (const message of this.#outbox.take()) {
      if (message.id !== undefined && !this.#requests.has(message.id)) continue
      if (!this.#transmit(message)) this.#outbox.push(message)
    }
    for (const waiter of this.#readyWaiters.splice(0)) waiter.resolve()
    this.#listeners.emit('connected', {
      connectionId: this.#connectionId!,
      userId: this.#userId,
      rooms: [...this.#rooms],
      reconnected,
      encrypted: link.transformed,
    })
  }

  /**
   * Drops the current link from this side and reacts like a loss. `abandon` when the server
   * cannot be trusted to answer a close handshake (silent, stalled, network gone).
   */
  #drop(code: number, reason: string, abandon = false): void {
    const link = this.#link
    if (link === undefined) return
    link.close(code, reason, abandon)
    this.#lost(code, reason, true)
  }

  /**
   * The current link is gone: reject what was on it, then reconnect or stop for good. `local`
   * when this side closed it (`#drop`).
   */
  #lost(code: number, reason: string, local = false): void {
    this.#releaseLink()
    this.#requests.rejectAll(new RoomcastError(ErrorCode.Disconnected, `the connection closed (${describeClose(code, reason)})`), true)
    const terminal = this.#terminalError(code, reason, local)
    if (terminal !== undefined) {
      this.#stop('disconnected', terminal, code, reason)
      return
    }
    const reconnect = this.#options.reconnect
    if (reconnect === false) {
      this.#stop('disconnected', new RoomcastError(ErrorCode.Disconnected, `the connection closed (${describeClose(code, reason)}) and reconnection is off`), code, reason)
      return
    }
    if (this.#backoff.attempt >= reconnect.maxAttempts) {
      this.#stop('disconnected', new RoomcastError(ErrorCode.Disconnected, `gave up after ${reconnect.maxAttempts} failed attempts (${describeClose(code, reason)})`), code, reason)
      return
    }
    const attempt = this.#backoff.attempt + 1
    const waitForNetwork = this.#options.networkHints && this.#network.offline
    const delay = waitForNetwork ? undefined : this.#backoff.next()
    this.#machine.to('reconnecting')
    if (this.#machine.current !== 'reconnecting') return
    this.#listeners.emit('reconnecting', { attempt, delay, code, reason })
    if (delay === undefined || this.#machine.current !== 'reconnecting') return
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined
      this.#open()
    }, delay)
  }

  /** The error a close code ends the client with, or undefined to reconnect. */
  #terminalError(code: number, reason: string, local: boolean): RoomcastError | undefined {
    // The server closed on purpose (`connection.close()`), as socket.io's "io server disconnect".
    // This side uses 1000 for attempts it gives up on (a failing auth function), which are retried.
    if (code === CloseCode.Normal && !local) return new RoomcastError(ErrorCode.Disconnected, `the server closed the connection (${describeClose(code, reason)})`)
    // Without a transform no attempt can ever complete the handshake the server requires.
    if (code === CloseCode.EncryptionRequired && this.#options.transform === undefined) {
      return new RoomcastError(ErrorCode.EncryptionFailed, 'the server requires end-to-end encryption: pass `transform: endToEndEncryption()`')
    }
    if (code === CloseCode.AuthRefused) return this.#refusal ?? new RoomcastError(ErrorCode.AuthRefused, reason || 'authentication refused')
    if (code === CloseCode.EncryptionViolation) {
      return new RoomcastError(ErrorCode.EncryptionFailed, `encryption failed, the connection was ended for good (${describeClose(code, reason)})`)
    }
    if (terminalCloseCodes.has(code)) {
      return new RoomcastError(ErrorCode.Disconnected, `the server ended the connection for good (${describeClose(code, reason)})`)
    }
    return undefined
  }

  #retryNow(): void {
    clearTimeout(this.#retryTimer)
    this.#retryTimer = undefined
    this.#open()
  }

  #onOnline(): void {
    if (this.#machine.current === 'reconnecting') this.#retryNow()
  }

  #onOffline(): void {
    const state = this.#machine.current
    if (state === 'connecting' || state === 'authenticating' || state === 'connected') this.#drop(ABANDONED, 'the network went offline', true)
  }

  /** Forgets the current link and everything tied to it. */
  #releaseLink(): void {
    clearTimeout(this.#connectTimer)
    this.#connectTimer = undefined
    this.#watchdog.stop()
    this.#link = undefined
    this.#connectionId = undefined
    this.#userId = undefined
  }

  #stop(final: 'closed' | 'disconnected', error: RoomcastError, code: number, reason: string): void {
    this.#end = error
    const link = this.#link
    this.#releaseLink()
    link?.close(code, reason)
    clearTimeout(this.#retryTimer)
    this.#retryTimer = undefined
    this.#network.stop()
    const dropped = this.#outbox.take().filter((message) => message.id === undefined).length
    this.#requests.rejectAll(new RoomcastError(ErrorCode.Disconnected, error.message), false)
    for (const waiter of this.#readyWaiters.splice(0)) waiter.reject(error)
    this.#machine.to(final)
    if (final === 'closed') {
      this.#listeners.emit('closed', undefined)
      return
    }
    this.#listeners.emit('disconnected', { code, reason, error })
    if (dropped > 0) {
      this.#listeners.emit('error', new RoomcastError(ErrorCode.NotSent, `${dropped} queued message(s) were not sent: ${error.message}`))
    }
  }

  #onListenerError(error: unknown, event: string): void {
    if (event === 'error' || !this.#listeners.has('error')) {
      // Nobody to tell: surface it like any exception thrown from a callback.
      queueMicrotask(() => {
        throw error
      })
      return
    }
    this.#listeners.emit('error', asRoomcastError(error, ErrorCode.HandlerError, `a listener of "${event}" threw`, true))
  }
}

function asRoomcastError(error: unknown, code: string, message: string, wrap = false): RoomcastError {
  if (error instanceof RoomcastError && !wrap) return error
  const wrapped = new RoomcastError(code, error instanceof Error ? `${message}: ${error.message}` : message)
  wrapped.cause = error
  return wrapped
}

function withQuery(url: string, query: Readonly<Record<string, string>> | undefined): string {
  if (query === undefined) return url
  const parsed = new URL(url)
  for (const [name, value] of Object.entries(query)) parsed.searchParams.set(name, value)
  return parsed.href
}

function describeClose(code: number, reason: string): string {
  return reason === '' ? `code ${code}` : `code ${code}: ${reason}`
}

/** Serializes a message once; its data may not be JSON (a BigInt, a cycle): that is refused here, before anything is sent. */
function encodeMessage(event: string, data: unknown, id: number | undefined): QueuedMessage | RoomcastError {
  const envelope: WireEnvelope = id === undefined ? { event, data } : { event, data, id }
  try {
    return { event, text: JSON.stringify(envelope), id }
  } catch (error) {
    return new RoomcastError(ErrorCode.InvalidData, `data of "${event}" cannot be sent as JSON: ${error instanceof Error ? error.message : String(error)}`)
  }
}

function isEnvelope(value: unknown): value is WireEnvelope {
  if (typeof value !== 'object' || value === null) return false
  const { event, id, room } = value as Record<string, unknown>
  return typeof event === 'string' && (id === undefined || typeof id === 'number') && (room === undefined || typeof room === 'string')
}

function isConnectedPayload(value: unknown): value is ConnectedPayload {
  if (typeof value !== 'object' || value === null) return false
  const { connectionId, userId, rooms, heartbeat } = value as Record<string, unknown>
  if (typeof connectionId !== 'string' || (userId !== undefined && typeof userId !== 'string')) return false
  if (!Array.isArray(rooms) || !rooms.every((room) => typeof room === 'string')) return false
  if (typeof heartbeat !== 'object' || heartbeat === null) return false
  const interval = (heartbeat as Record<string, unknown>).interval
  return typeof interval === 'number' && interval > 0
}

function isMembership(value: unknown): value is MembershipPayload {
  if (typeof value !== 'object' || value === null) return false
  const { joined, left } = value as Record<string, unknown>
  const names = (list: unknown): boolean => Array.isArray(list) && list.every((room) => typeof room === 'string')
  return names(joined) && names(left)
}

function isDropped(value: unknown): value is DroppedPayload {
  if (typeof value !== 'object' || value === null) return false
  const count = (value as Record<string, unknown>).count
  return typeof count === 'number' && Number.isInteger(count) && count > 0
}

function isPresence(value: unknown): value is PresencePayload {
  if (typeof value !== 'object' || value === null) return false
  const { room, userId, action } = value as Record<string, unknown>
  return typeof room === 'string' && typeof userId === 'string' && (action === 'join' || action === 'leave')
}
