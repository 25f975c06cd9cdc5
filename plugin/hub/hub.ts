import type { FastifyBaseLogger } from 'fastify'
import { CloseCode } from '../../shared/codes.js'
import { SystemEvent } from '../../shared/envelope.js'
import type { AnyEvents, EventsDefinition } from '../../shared/events.js'
import type { Adapter, AdapterNode, InterestKind } from './adapter.js'
import { PreparedFrame } from './frame.js'
import { logConnection } from './connection-log.js'
import type { Connection, ConnectionHost, Identity } from './connection.js'
import { encodeData, type Delivery, type Target } from './delivery.js'
import { FrameCache } from './frame-cache.js'
import type { HistoryPage, HistoryPolicy, HistoryRead } from './history.js'
import type { HistoryResolver } from './history-policy.js'
import { Hooks, type PresenceChange } from './hooks.js'
import type { HubMetrics } from './metrics.js'
import { isProtocolName } from './namespace.js'
import { handled, PUBLISHED, type PublishOutcome } from './publish-outcome.js'
import type { ClusterAnswer, Query, QueryResult, RoomMember } from './queries.js'
import type { Sink } from './sink.js'
import { publishToStreams } from './stream-publish.js'

export interface HeartbeatOptions {
  /** How often the server checks liveness and sends heartbeats, in ms. Default 30 000. */
  interval: number
  /**
   * Silence after which a connection is closed with 4002, in ms. Default 90 000. Checked once
   * per `interval`, so the close lands between `timeout` and `timeout + interval` after the
   * connection's last frame.
   */
  timeout: number
  /** `event`: a `heartbeat` message the client answers (visible to browser code). `ping`: WebSocket ping frames. */
  mode: 'event' | 'ping'
}

export interface HubOptions {
  nodeId: string
  heartbeat: HeartbeatOptions
  /** How long shutdown waits for sockets to finish their close handshake before cutting them, in ms. */
  closeGracePeriod: number
  /** The protocol whose clients get `presence` events when a user enters or leaves their room; none when undefined. */
  presenceEvents: string | undefined
  /** Which rooms keep a history (the compiled `history` option); undefined: none does. */
  history?: HistoryResolver | undefined
  /** What to count for the metrics layer; undefined (metrics off): nothing is counted. */
  metrics?: HubMetrics | undefined
}

export interface DrainOptions {
  /** Connections closed per second. Default 100. */
  perSecond?: number
  code?: number
  reason?: string
}

/** Gradual draining closes a slice of connections on each tick of this length. */
const DRAIN_TICK_MS = 100

/**
 * This node's state: connections, rooms, users, and every delivery to them. It owns the
 * heartbeat sweep and shutdown. Deliveries leave through the adapter and come back to
 * `deliver`, so a local send and a cluster send take the same path.
 */
export class Hub<E extends EventsDefinition = AnyEvents> implements ConnectionHost, AdapterNode {
  readonly nodeId: string
  readonly log: FastifyBaseLogger
  readonly hooks: Hooks<E>
  readonly adapter: Adapter
  readonly options: HubOptions
  /** Counters for the metrics layer, when metrics are on. */
  readonly metrics: HubMetrics | undefined
  readonly connections = new Map<string, Connection<E>>()
  readonly #rooms = new Map<string, Set<Connection<E>>>()
  readonly #users = new Map<string, Set<Connection<E>>>()
  /**
   * room → user id → how many of the user's local connections are in the room: whether a join
   * is the user's first or a leave its last is a lookup, however many connections a user holds.
   */
  readonly #roomUsers = new Map<string, Map<string, number>>()
  #sweepTimer: NodeJS.Timeout | undefined
  #heartbeatFrames = new Map<string, PreparedFrame>()
  #accepting = true
  #draining = false
  #shuttingDown = false
  /** Running drains, told of every removal so they end as soon as their connections are gone. */
  readonly #drains = new Set<(removed: Connection<E>) => void>()
  /**
   * Sockets of removed connections whose TCP close is still under way (a connection is removed
   * as soon as its peer's close frame arrives): shutdown waits for them, and cuts them, too.
   */
  readonly #closingSinks = new Set<Sink>()
  /**
   * Protocols that track presence keys of their own through the adapter (Pusher: its members
   * and channel occupancy). A claim that returns true takes a transition the adapter found
   * itself (a dead node's members), so it never reaches the `presence` hook.
   */
  readonly presenceClaims: Array<(change: PresenceChange) => boolean> = []

  constructor(options: HubOptions, adapter: Adapter, log: FastifyBaseLogger) {
    this.nodeId = options.nodeId
    this.options = options
    this.adapter = adapter
    this.metrics = options.metrics
    this.log = log
    this.hooks = new Hooks<E>(log)
  }

  async start(): Promise<void> {
    await this.adapter.attach(this)
    this.#sweepTimer = setInterval(() => this.#sweep(), this.options.heartbeat.interval)
  }

  /** False once draining or shutting down: the transport refuses new upgrades. */
  get accepting(): boolean {
    return this.#accepting
  }

  /** A drain started (it stays so: a drained node takes no new connections). */
  get draining(): boolean {
    return this.#draining
  }

  /** Shutdown started. */
  get shuttingDown(): boolean {
    return this.#shuttingDown
  }

  // ---------------------------------------------------------------- connection lifecycle

  register(connection: Connection<E>): void {
    this.connections.set(connection.id, connection)
    this.adapter.watch('connection', connection.id)
    logConnection(connection, 'debug', 'roomcast: connection opened', { remoteAddress: connection.remoteAddress })
    this.hooks.run('connection', connection)
  }

  authenticate(connection: Connection<E>, identity: Identity): void {
    connection.userId = identity.userId
    connection.metadata = identity.metadata ?? {}
    connection.state = 'authenticated'
    if (identity.userId !== undefined) this.#index(this.#users, 'user', identity.userId, connection)
    logConnection(connection, 'debug', 'roomcast: connection authenticated', { userId: identity.userId })
    this.hooks.run('authenticated', connection)
  }

  /**
   * Gives an authenticated connection that has no user its user (Pusher's sign-in comes after
   * the connection opened): indexed for user deliveries, present in the rooms it is already in.
   */
  identify(connection: Connection<E>, userId: string): void {
    if (connection.state !== 'authenticated' || connection.userId !== undefined) return
    connection.userId = userId
    this.#index(this.#users, 'user', userId, connection)
    logConnection(connection, 'debug', 'roomcast: connection signed in', { userId })
    for (const room of connection.rooms) {
      if (this.#countUserIn(room, userId, 1)) this.#presence(room, userId, 'join', connection.protocol)
    }
  }

  join(connection: Connection<E>, rooms: readonly string[]): void {
    if (connection.state !== 'authenticated') return
    for (const room of rooms) {
      if (connection.rooms.has(room)) continue
      const firstOfUser = connection.userId !== undefined && this.#countUserIn(room, connection.userId, 1)
      connection.rooms.add(room)
      this.#index(this.#rooms, 'room', room, connection)
      this.hooks.run('join', connection, room)
      if (firstOfUser) this.#presence(room, connection.userId!, 'join', connection.protocol)
    }
  }

  leave(connection: Connection<E>, rooms: readonly string[]): void {
    for (const room of rooms) {
      if (!connection.rooms.delete(room)) continue
      this.#unindex(this.#rooms, 'room', room, connection)
      this.hooks.run('leave', connection, room)
      if (connection.userId !== undefined && this.#countUserIn(room, connection.userId, -1)) {
        this.#presence(room, connection.userId, 'leave', connection.protocol)
      }
    }
  }

  /** Server-initiated close: the connection leaves everything now, the socket closes after. */
  close(connection: Connection<E>, code: number, reason: string): void {
    if (connection.state === 'closing' || connection.state === 'closed') return
    // The protocol may close its own way (Pusher: its own codes, a `pusher:error` first).
    const closing = connection.codec.closing?.(code, reason)
    if (closing !== undefined) {
      if (closing.frame !== undefined) connection.writeText(closing.frame)
      code = closing.code
      reason = closing.reason
    }
    this.remove(connection, code, reason)
    connection.sink.close(code, reason)
  }

  /** Forgets a connection. Idempotent: the socket's own close event calls it too. */
  remove(connection: Connection<E>, code: number, reason: string): void {
    if (connection.state === 'closed' || !this.connections.has(connection.id)) {
      connection.state = 'closed'
      return
    }
    connection.state = 'closing'
    this.leave(connection, [...connection.rooms])
    if (connection.userId !== undefined) this.#unindex(this.#users, 'user', connection.userId, connection)
    this.connections.delete(connection.id)
    this.adapter.unwatch('connection', connection.id)
    connection.state = 'closed'
    const sink = connection.sink
    if (!sink.isClosed) {
      this.#closingSinks.add(sink)
      void sink.closed().then(() => this.#closingSinks.delete(sink))
    }
    for (const onRemoved of this.#drains) onRemoved(connection)
    logConnection(connection, 'debug', 'roomcast: connection closed', { code, reason })
    this.hooks.run('disconnect', connection, { code, reason })
  }

  // ---------------------------------------------------------------- delivery

  /**
   * Sends a delivery to its recipients on every node. Resolves once the cluster bus took it,
   * rejects with `publish_failed` when it did not; marked handled, so callers may ignore it.
   */
  publish(delivery: Delivery): PublishOutcome {
    const history = this.options.history
    if (history !== undefined) {
      const outcome = publishToStreams(delivery, history, this.adapter.history!, (plain) => this.adapter.publish(plain) ?? PUBLISHED)
      if (outcome !== undefined) return handled(outcome)
    }
    // `?? PUBLISHED`: an adapter written before publish reported its outcome returns nothing.
    return handled(this.adapter.publish(delivery) ?? PUBLISHED)
  }

  /** The history policy of a room, or undefined when it keeps none. */
  historyPolicy(room: string): HistoryPolicy | undefined {
    return this.options.history === undefined || isProtocolName(room) ? undefined : this.options.history(room)
  }

  /** Reads a room's stream; undefined when the room keeps no history. */
  readHistory(room: string, read: HistoryRead): Promise<HistoryPage> | undefined {
    const policy = this.historyPolicy(room)
    if (policy === undefined) return undefined
    return this.adapter.history!.read(room, read, policy)
  }

  /** Local fan-out: each distinct frame is built once and the same bytes go to every recipient. */
  deliver(delivery: Delivery): void {
    const metrics = this.metrics
    if (metrics === undefined) {
      this.#fanOut(delivery, undefined)
      return
    }
    const started = performance.now()
    this.#fanOut(delivery, metrics)
    metrics.settlePending()
    metrics.events.fannedOut((performance.now() - started) / 1000)
  }

  #fanOut(delivery: Delivery, metrics: HubMetrics | undefined): void {
    const frames = new FrameCache(delivery)
    const except = exceptionsOf(delivery.except)
    const protocol = delivery.protocol
    const send = (connection: Connection<E>, room: string | undefined): void => {
      if (connection.state !== 'authenticated') return
      if (protocol !== undefined && connection.protocol !== protocol) return
      if (except?.has(connection.id)) return
      if (connection.writeFrame(frames.frame(connection.codec, room)) && metrics !== undefined) {
        if (connection.protocol !== metrics.pendingProtocol) metrics.countFor(connection.protocol)
        metrics.pending++
      }
    }
    const target = delivery.target
    switch (target.kind) {
      case 'rooms': {
        if (target.rooms.length === 1) {
          const room = target.rooms[0]!
          const members = this.#rooms.get(room)
          if (members !== undefined) for (const connection of members) send(connection, room)
          return
        }
        // A connection in several of the rooms gets the message once, tagged with the first.
        const seen = new Set<Connection<E>>()
        for (const room of target.rooms) {
          const members = this.#rooms.get(room)
          if (members === undefined) continue
          for (const connection of members) {
            if (seen.has(connection)) continue
            seen.add(connection)
            send(connection, room)
          }
        }
        return
      }
      case 'users':
      case 'connections':
      case 'all':
        for (const connection of this.#resolve(target)) send(connection, undefined)
    }
  }

  // ---------------------------------------------------------------- cluster queries

  query<Q extends Query>(query: Q): Promise<ClusterAnswer<QueryResult<Q>>> {
    const metrics = this.metrics
    if (metrics === undefined) return this.adapter.query(query)
    const started = performance.now()
    return this.adapter.query(query).then((answer) => {
      metrics.events.queried(query.type, (performance.now() - started) / 1000, answer.missing.length > 0)
      return answer
    })
  }

  /** This node's part of a cluster query or action. */
  answer<Q extends Query>(query: Q): QueryResult<Q> {
    return this.#answer(query) as QueryResult<Q>
  }

  #answer(query: Query): QueryResult<Query> {
    switch (query.type) {
      case 'roomMembers': {
        const members: RoomMember[] = []
        for (const connection of this.#rooms.get(query.room) ?? []) {
          const member: RoomMember = { connectionId: connection.id, userId: connection.userId }
          const info = connection.memberInfo?.get(query.room)
          if (info !== undefined) member.info = info
          members.push(member)
        }
        return members
      }
      case 'roomSize':
        return this.#rooms.get(query.room)?.size ?? 0
      case 'userConnections':
        return [...(this.#users.get(query.userId) ?? [])].map((connection) => connection.id)
      case 'rooms':
        return [...this.#rooms.keys()]
      case 'roomSizes': {
        // No prototype: a room may be called "__proto__".
        const sizes: Record<string, number> = Object.create(null)
        for (const [room, members] of this.#rooms) if (room.startsWith(query.prefix)) sizes[room] = members.size
        return sizes
      }
      case 'connectionCount':
        return this.connections.size
      case 'nodes':
        return [{ nodeId: this.nodeId, connections: this.connections.size, rooms: this.#rooms.size }]
      case 'join':
      case 'leave':
      case 'disconnect': {
        // Only authenticated connections can be in rooms, so only they count for join/leave.
        // A join or leave names one protocol's rooms, so it moves only that protocol's connections.
        const affected = [...this.#resolve(query.target)].filter(
          (connection) => query.type === 'disconnect' || (connection.authenticated && (query.protocol === undefined || connection.protocol === query.protocol)),
        )
        for (const connection of affected) {
          if (query.type === 'disconnect') this.close(connection, query.code, query.reason)
          else this.changeMembership(connection, query.type, query.rooms)
        }
        return affected.length
      }
    }
  }

  /** Local connections named by a target (authenticated ones only for `all`). */
  *#resolve(target: Target): Iterable<Connection<E>> {
    switch (target.kind) {
      case 'connections':
        for (const id of target.ids) {
          const connection = this.connections.get(id)
          if (connection !== undefined) yield connection
        }
        return
      case 'users':
        for (const userId of target.users) yield* this.#users.get(userId) ?? []
        return
      case 'rooms': {
        const seen = new Set<Connection<E>>()
        for (const room of target.rooms) {
          for (const connection of this.#rooms.get(room) ?? []) {
            if (!seen.has(connection)) {
              seen.add(connection)
              yield connection
            }
          }
        }
        return
      }
      case 'all':
        for (const connection of this.connections.values()) if (connection.authenticated) yield connection
    }
  }

  /**
   * A join or leave the application decided (the server API, on any node, or `Connection.join`):
   * done, then told to the connection, so that its client keeps a true list of rooms.
   */
  changeMembership(connection: Connection<E>, action: 'join' | 'leave', rooms: readonly string[]): void {
    const changed = rooms.filter((room) => connection.rooms.has(room) === (action === 'leave'))
    if (action === 'join') this.join(connection, changed)
    else this.leave(connection, changed)
    const done = changed.filter((room) => connection.rooms.has(room) === (action === 'join'))
    const frame = done.length === 0 ? undefined : connection.codec.membership?.(action === 'join' ? done : [], action === 'leave' ? done : [])
    if (frame !== undefined) connection.writeText(frame)
  }

  /** Synchronous local views, for tests and single-node apps. */
  localRoomSize(room: string): number {
    return this.#rooms.get(room)?.size ?? 0
  }

  localRooms(): IterableIterator<string> {
    return this.#rooms.keys()
  }

  /** Each local room's members (all of one protocol: rooms are namespaced), for sampling at scrape time. */
  localRoomMembers(): IterableIterator<ReadonlySet<Connection<E>>> {
    return this.#rooms.values()
  }

  // ---------------------------------------------------------------- presence

  /**
   * Counts one of a user's local connections into (`step` 1) or out of (-1) a room; true when
   * that was the user's first connection in or last one out (a presence transition on this node).
   */
  #countUserIn(room: string, userId: string, step: 1 | -1): boolean {
    let users = this.#roomUsers.get(room)
    if (users === undefined) {
      if (step === -1) return false
      users = new Map()
      this.#roomUsers.set(room, users)
    }
    const count = (users.get(userId) ?? 0) + step
    if (count > 0) {
      users.set(userId, count)
      return count === 1 && step === 1
    }
    users.delete(userId)
    if (users.size === 0) this.#roomUsers.delete(room)
    return step === -1 && count === 0
  }

  /** A user's first local connection entered a room, or its last one left; `protocol`: theirs. */
  #presence(room: string, userId: string, action: 'join' | 'leave', protocol: string): void {
    if (this.metrics !== undefined) this.metrics.traffic(protocol).presenceMembers += action === 'join' ? 1 : -1
    this.adapter.trackPresence(room, userId, action).then(
      (clusterTransition) => {
        if (clusterTransition) this.presenceChanged({ room, userId, action })
      },
      (err: unknown) => this.log.warn({ err, room, userId }, 'roomcast: presence tracking failed'),
    )
  }

  /**
   * A cluster-wide presence transition: runs the `presence` hook and tells the room. Called for
   * this node's own transitions, and by a cluster adapter for those it discovers itself (the
   * users of a node that died, transitions missed while Redis was unreachable).
   */
  presenceChanged(change: PresenceChange): void {
    for (const claim of this.presenceClaims) if (claim(change)) return
    const { room, userId, action } = change
    this.hooks.run('presence', { room, userId, action })
    if (this.options.presenceEvents !== undefined) {
      this.publish({
        target: { kind: 'rooms', rooms: [room] },
        event: SystemEvent.Presence,
        data: encodeData({ room, userId, action }),
        protocol: this.options.presenceEvents,
      })
    }
  }

  // ---------------------------------------------------------------- indexes

  #index(index: Map<string, Set<Connection<E>>>, kind: InterestKind, key: string, connection: Connection<E>): void {
    let set = index.get(key)
    if (set === undefined) {
      set = new Set()
      index.set(key, set)
      this.adapter.watch(kind, key)
    }
    set.add(connection)
  }

  #unindex(index: Map<string, Set<Connection<E>>>, kind: InterestKind, key: string, connection: Connection<E>): void {
    const set = index.get(key)
    if (set === undefined || !set.delete(connection)) return
    if (set.size === 0) {
      index.delete(key)
      this.adapter.unwatch(kind, key)
    }
  }

  // ---------------------------------------------------------------- liveness and shutdown

  /** One timer for every connection: close the silent ones, send heartbeats to the rest. */
  #sweep(): void {
    const { timeout, mode } = this.options.heartbeat
    const deadline = Date.now() - timeout
    for (const connection of this.connections.values()) {
      if (connection.lastSeen < deadline) {
        this.close(connection, CloseCode.HeartbeatTimeout, 'heartbeat timeout')
      } else if (connection.state === 'authenticated') {
        const text = connection.codec.heartbeat
        if (mode === 'event' && text !== undefined) connection.writeFrame(this.#heartbeatFrame(connection.codec.protocol, text))
        else connection.sink.ping()
      }
    }
  }

  #heartbeatFrame(protocol: string, text: string): PreparedFrame {
    let frame = this.#heartbeatFrames.get(protocol)
    if (frame === undefined) {
      frame = new PreparedFrame(text)
      this.#heartbeatFrames.set(protocol, frame)
    }
    return frame
  }

  closeAll(code: number = CloseCode.ServerShutdown, reason = 'server shutting down'): void {
    for (const connection of [...this.connections.values()]) this.close(connection, code, reason)
  }

  /**
   * Closes every current connection gradually, `perSecond` at a time, and refuses new ones
   * while it runs (a node leaving a cluster without a reconnect stampede). Resolves when done.
   */
  drain(options: DrainOptions = {}): Promise<void> {
    const perSecond = Math.max(1, options.perSecond ?? 100)
    const code = options.code ?? CloseCode.Draining
    const reason = options.reason ?? 'draining'
    this.#accepting = false
    this.#draining = true
    // A set, not a list: connections that leave on their own (or at shutdown) drop out of it at
    // once, so the drain ends when the last one is gone instead of ticking on for nobody.
    const pending = new Set(this.connections.values())
    const perTick = Math.max(1, Math.round((perSecond * DRAIN_TICK_MS) / 1000))
    const interval = Math.max(1, Math.round((perTick * 1000) / perSecond))
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined
      const finish = (): void => {
        clearTimeout(timer)
        this.#drains.delete(onRemoved)
        resolve()
      }
      const onRemoved = (connection: Connection<E>): void => {
        if (pending.delete(connection) && pending.size === 0) finish()
      }
      const tick = (): void => {
        let closed = 0
        for (const connection of pending) {
          if (closed++ === perTick) break
          this.close(connection, code, reason)
        }
        if (pending.size > 0) timer = setTimeout(tick, interval)
      }
      if (pending.size === 0) {
        resolve()
        return
      }
      this.#drains.add(onRemoved)
      tick()
    })
  }

  /** Stops accepting, closes everything with 1001, waits for the sockets, then stops the adapter. */
  async shutdown(): Promise<void> {
    this.#accepting = false
    this.#shuttingDown = true
    clearInterval(this.#sweepTimer)
    this.closeAll(CloseCode.ServerShutdown, 'server shutting down')
    // Every socket still open is among these now: those just closed and those removed earlier.
    await Promise.all([...this.#closingSinks].map((sink) => sink.closed(this.options.closeGracePeriod)))
  }

  async stopAdapter(): Promise<void> {
    await this.adapter.close()
  }
}

function exceptionsOf(except: string[] | undefined): ReadonlySet<string> | undefined {
  return except === undefined || except.length === 0 ? undefined : new Set(except)
}
