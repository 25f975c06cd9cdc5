import { AuthRefusedError } from '../shared/auth-refusal.js'
import { CloseCode, ErrorCode } from '../shared/codes.js'
import type { Envelope, HistoryRequest, JoinReply, JoinRequest, LeaveReply } from '../shared/envelope.js'
import { RoomcastError } from '../shared/errors.js'
import type { AnyEvents, EventsDefinition, ReplyData, ToServerData, ToServerEvent } from '../shared/events.js'
import { SystemEvent } from '../shared/system-events.js'
import { Backoff } from './backoff.js'
import { describeClose, terminalError } from './close-policy.js'
import { checkAuth, checkEvent, type Direction } from './event-check.js'
import { ListenerRegistry } from './emitter.js'
import type { EventHandler, HistoryOptions, HistoryResult, ListenableEvent, MessageMeta, Publication } from './events.js'
import { GapFiller, type Requester } from './gaps.js'
import { Link } from './link.js'
import { NetworkHints } from './network.js'
import { clientDefaults, resolveClientOptions, resolveUrl, withQuery, type ResolvedClientOptions, type RoomcastClientOptions } from './options.js'
import { Outbox, type QueuedMessage } from './outbox.js'
import {
  decodeFrame,
  encodeMessage,
  errorOf,
  HEARTBEAT_FRAME,
  isConnectedPayload,
  isDropped,
  isHistoryReply,
  isJoinReply,
  isMembership,
  isRelayedEvent,
  relayedEvents,
  type RelayedEvent,
} from './protocol.js'
import { RequestTracker } from './requests.js'
import { RoomBook } from './rooms.js'
import { StateMachine, type ClientState } from './state.js'
import { Watchdog } from './watchdog.js'
import { asRoomcastError } from './wrap-error.js'

const NO_META: MessageMeta = Object.freeze({})
/** Reported for a connection given up by the client without a close handshake (RFC 6455's 1006). */
const ABANDONED = 1006

/** One attempt's credentials: the data to send, the `auth` function's failure, or their refusal by the `auth` schema. */
type Credentials = { ok: true; data: unknown } | { ok: false; error: unknown } | { ok: false; refusal: RoomcastError }

export interface RequestOptions {
  /** Time to wait for the reply, in ms, counted from the call. Default: the client's `requestTimeout`. */
  timeout?: number
}

export interface JoinOptions extends RequestOptions {
  /** For rooms with history: deliver the last N publications of each (at most 1000) before the join resolves. */
  rewind?: number
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
  readonly #rooms = new RoomBook()
  readonly #gaps = new GapFiller({
    rooms: this.#rooms,
    deliver: (event, data, meta) => this.#deliver(event, data, meta),
    recovery: (info) => this.#listeners.emit('recovery', info),
    error: (error) => this.#listeners.emit('error', error),
    replay: (envelope) => this.#onAppEvent(envelope),
  })
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
    return this.#rooms.list
  }

  /** The server's id of the current connection, while connected. */
  get connectionId(): string | undefined {
    return this.#connectionId
  }

  /** The user id the server authenticated, while connected. */
  get userId(): string | undefined {
    return this.#userId
  }

  /** Whether the current connection runs through a transform (client-to-server encryption). */
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
   * `room_limit`, `invalid_room`). Joined rooms are restored after every reconnection, and
   * those with history recover what they missed meanwhile (see the `recovery` event). With
   * `rewind: N`, the last N publications of each room with history reach their listeners
   * before this resolves.
   */
  async join(rooms: string | readonly string[], options: JoinOptions = {}): Promise<JoinReply> {
    const names = typeof rooms === 'string' ? [rooms] : [...rooms]
    const request: JoinRequest = options.rewind === undefined ? { rooms: names } : { rooms: names, rewind: options.rewind }
    const reply = await this.#call(SystemEvent.Join, request, options.timeout)
    if (!isJoinReply(reply)) throw new RoomcastError(ErrorCode.BadEnvelope, 'the server sent a malformed join reply')
    this.#rooms.entered(reply.joined)
    this.#rooms.settleStreams(reply.streams)
    return reply
  }

  /**
   * Reads a room's stored publications (rooms with history; the server authorizes it like a
   * join). `since`: only those after a position (`complete: false` when some after it are no
   * longer kept); `limit`: at most this many (default 100, at most 1000); `reverse`: newest
   * first. Publications whose data fails its schema are left out and reported as `error` events.
   */
  async history(room: string, options: HistoryOptions = {}): Promise<HistoryResult<E>> {
    const request: HistoryRequest = { room }
    if (options.since !== undefined) request.since = options.since
    if (options.limit !== undefined) request.limit = options.limit
    if (options.reverse !== undefined) request.reverse = options.reverse
    const reply = await this.#call(SystemEvent.History, request, options.timeout)
    if (!isHistoryReply(reply)) throw new RoomcastError(ErrorCode.BadEnvelope, 'the server sent a malformed history reply')
    const publications: Array<Publication<E>> = []
    for (const publication of reply.publications) {
      const refusal = this.#checkEvent('toClient', publication.event, publication.data)
      if (refusal !== undefined) this.#listeners.emit('error', refusal)
      else publications.push(publication as Publication<E>)
    }
    return { epoch: reply.epoch, offset: reply.offset, publications, complete: reply.complete }
  }

  /**
   * Leaves rooms. They are forgotten at once (never restored); when connected, resolves with
   * the server's answer, otherwise right away since there is nothing to undo on the server.
   */
  async leave(rooms: string | readonly string[], options: RequestOptions = {}): Promise<LeaveReply> {
    const names = typeof rooms === 'string' ? [rooms] : [...rooms]
    const left = this.#rooms.leave(names)
    if (this.#machine.current !== 'connected') return { left }
    return (await this.#call(SystemEvent.Leave, { rooms: names }, options.timeout)) as LeaveReply
  }

  /** An application event against the application's schemas (with `validate`): the refusal, or undefined. */
  #checkEvent(direction: Direction, event: string, data: unknown): RoomcastError | undefined {
    return checkEvent(direction, this.#options.validate ? this.#options.events : undefined, event, data)
  }

  #check(event: string, data: unknown): void {
    const refusal = this.#checkEvent('toServer', event, data)
    if (refusal !== undefined) throw refusal
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
        closed: (code, reason, upgradeStatus) => {
          if (this.#link === link) this.#lost(code, reason, false, upgradeStatus)
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
    const events = this.#options.validate ? this.#options.events : undefined
    return new Promise<unknown>((resolve) => resolve(auth({ attempt }))).then(
      (data): Credentials => {
        // Credentials that fail the declared schema would be refused by the server: reported here, like a failing `auth`.
        const refusal = checkAuth(events, data)
        return refusal === undefined ? { ok: true, data } : { ok: false, refusal }
      },
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
        const refused = 'refusal' in result
        this.#listeners.emit('error', refused ? result.refusal : asRoomcastError(result.error, ErrorCode.AuthFailed, 'the auth function failed', true))
        if (this.#link === link) this.#drop(CloseCode.Normal, refused ? 'the auth data does not match its schema' : 'the auth function failed')
        return
      }
      this.#direct(link, SystemEvent.Authenticate, result.data).catch((error: RoomcastError) => {
        // `connected` resolves this request. An already-authenticated server (pre-upgrade auth)
        // says `connected` first and then refuses the redundant `authenticate`: harmless.
        // Both come before a 4003 close: the server's own words (and the schema's complaints) end the client.
        if (error.code === ErrorCode.AuthRefused) this.#refusal = new AuthRefusedError(error.message)
        else if (error.code === ErrorCode.InvalidData) this.#refusal = error
        else if (error.code !== ErrorCode.AlreadyAuthenticated && error.code !== ErrorCode.Timeout && error.code !== ErrorCode.Disconnected) {
          this.#listeners.emit('error', error)
        }
      })
    })
  }

  #onFrame(link: Link, text: string): void {
    this.#watchdog.touch()
    const envelope = decodeFrame(text)
    if (envelope instanceof RoomcastError) {
      this.#listeners.emit('error', envelope)
      return
    }
    switch (envelope.event) {
      case SystemEvent.Ack:
        if (envelope.id !== undefined) this.#requests.resolve(envelope.id, envelope.data)
        return
      case SystemEvent.Error:
        this.#onErrorFrame(envelope)
        return
      case SystemEvent.Heartbeat:
        link.send(HEARTBEAT_FRAME)
        return
      case SystemEvent.Connected:
        this.#onConnected(link, envelope)
        return
      case SystemEvent.Membership:
        this.#onMembership(envelope.data)
        return
      default:
        if (isRelayedEvent(envelope.event)) this.#relay(envelope.event, envelope.data)
        else this.#onAppEvent(envelope)
    }
  }

  /** A server event the client passes on as its own, when its data has the right shape. */
  #relay(event: RelayedEvent, data: unknown): void {
    if (relayedEvents[event](data)) this.#listeners.emit(event, data)
    else this.#listeners.emit('error', new RoomcastError(ErrorCode.BadEnvelope, `the server sent a malformed ${event} event`))
    if (event === SystemEvent.Dropped && isDropped(data)) this.#gaps.dropped(data, (event, data) => this.#call(event, data))
  }

  #onAppEvent(envelope: Envelope): void {
    const { event, data, room, offset, epoch } = envelope
    if (room === undefined || offset === undefined || epoch === undefined) {
      this.#deliver(event, data, room === undefined ? NO_META : { room })
      return
    }
    // A gap before it is being filled from history: it follows the missed publications.
    if (this.#gaps.hold(room, envelope)) return
    const admission = this.#rooms.admit(room, { epoch, offset })
    // Seen already: a replay that overlapped what had arrived.
    if (admission === 'duplicate') return
    // The stream began anew (its store was lost, or it expired): what came before may be gone.
    if (admission === 'new-epoch') this.#listeners.emit('recovery', { room, recovered: false, reason: 'epoch_changed', replayed: 0 })
    this.#deliver(event, data, { room, offset, epoch })
  }

  /** An application event to its listeners, once its data passed the schema. */
  #deliver(event: string, data: unknown, meta: MessageMeta): void {
    const refusal = this.#checkEvent('toClient', event, data)
    if (refusal !== undefined) {
      this.#listeners.emit('error', refusal)
      return
    }
    this.#listeners.emit(event, data, meta)
  }

  #onErrorFrame(envelope: Envelope): void {
    const error = errorOf(envelope.data)
    if (envelope.id !== undefined) {
      if (this.#requests.reject(envelope.id, error)) return
      // A late answer to a request that already timed out: its caller has been told.
      if (this.#requests.issued(envelope.id)) return
    }
    this.#listeners.emit('error', error)
  }

  #onConnected(link: Link, envelope: Envelope): void {
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
    const plan = this.#rooms.restore(given)
    const request: Requester = (event, data) => this.#direct(link, event, data)
    const joins = this.#rooms.carryOut(
      plan,
      request,
      (error) => this.#listeners.emit('error', error),
      (outcome) => this.#listeners.emit('recovery', outcome),
    )
    // The server's own rooms are not rejoined, so no `recover` for them: their gaps come from history.
    const refills = plan.refill.map(({ room, since }) => this.#gaps.fill(room, since, request))
    try {
      await (refills.length === 0 ? joins : Promise.all([joins, ...refills]))
    } catch {
      return // the link died or stalled; its close or the connect timeout takes over
    }
    if (this.#link !== link || this.#machine.current !== 'authenticating') return
    // Rooms left while they were being restored.
    const stale = this.#rooms.stale(plan)
    if (stale.length > 0) this.#direct(link, SystemEvent.Leave, { rooms: stale }).catch(() => {})
    this.#becomeConnected(link)
  }

  #onMembership(data: unknown): void {
    if (!isMembership(data)) {
      this.#listeners.emit('error', new RoomcastError(ErrorCode.BadEnvelope, 'the server sent a malformed membership event'))
      return
    }
    this.#rooms.entered(data.joined)
    this.#rooms.removed(data.left)
    this.#listeners.emit('membership', data)
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
      rooms: this.#rooms.list,
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
   * when this side closed it (`#drop`); `upgradeStatus` when the server refused the upgrade over HTTP.
   */
  #lost(code: number, reason: string, local = false, upgradeStatus?: number): void {
    this.#releaseLink()
    this.#requests.rejectAll(new RoomcastError(ErrorCode.Disconnected, `the connection closed (${describeClose(code, reason)})`), true)
    const terminal = terminalError({ code, reason, local }, { transformed: this.#options.transform !== undefined, refusal: this.#refusal, upgradeStatus })
    if (terminal !== undefined) {
      this.#stop('disconnected', terminal, code, reason)
      return
    }
    const reconnect = this.#options.reconnect
    if (reconnect === false) {
      this.#stop(
        'disconnected',
        new RoomcastError(ErrorCode.Disconnected, `the connection closed (${describeClose(code, reason)}) and reconnection is off`),
        code,
        reason,
      )
      return
    }
    if (this.#backoff.attempt >= reconnect.maxAttempts) {
      this.#stop(
        'disconnected',
        new RoomcastError(ErrorCode.Disconnected, `gave up after ${reconnect.maxAttempts} failed attempts (${describeClose(code, reason)})`),
        code,
        reason,
      )
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
    this.#listeners.emit(
      'disconnected',
      error instanceof AuthRefusedError && error.status !== undefined ? { code, reason, error, status: error.status } : { code, reason, error },
    )
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
