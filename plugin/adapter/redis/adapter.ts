import type { Adapter, AdapterNode, InterestKind } from '../../hub/adapter.js'
import type { Delivery } from '../../hub/delivery.js'
import type { PresenceChange } from '../../hub/hooks.js'
import { PUBLISHED, publishFailed, type PublishOutcome } from '../../hub/publish-outcome.js'
import type { ClusterAnswer, Query, QueryResult } from '../../hub/queries.js'
import { closeConnection, duplicateConnection, isClusterClient, startConnecting, waitUntilReady, type BusConnection } from './connection.js'
import { RedisHistory } from './history.js'
import { decodeControl, encodeControl, type ControlMessage, type QueryMessage } from '../cluster/control.js'
import { RecentMessages } from '../cluster/dedupe.js'
import { Keyspace } from './keyspace.js'
import { resolveRedisAdapterOptions, type RedisAdapterOptions, type ResolvedRedisAdapterOptions } from './options.js'
import { OutageLog } from './outage-log.js'
import { PresenceStore } from './presence.js'
import { BusPublisher } from './publisher.js'
import { NodeRegistry, randomToken, type NodeMember } from './registry.js'
import { RequestBroker } from '../cluster/requests.js'
import type { RedisAdapterStats } from './stats.js'
import { Subscriptions } from './subscriptions.js'
import { RedisStore } from './store.js'
import { decodeDelivery, encodeDelivery, WireFormatError } from '../cluster/wire.js'
import { AdapterInUseError, AdapterNotAttachedError } from '../../hub/errors.js'

type State = 'new' | 'attached' | 'closing' | 'closed' | 'crashed'

/** The parts that exist once the adapter knows its node. */
interface Attached {
  node: AdapterNode
  registry: NodeRegistry
  presence: PresenceStore
  requests: RequestBroker
}

/**
 * Many nodes as one server, over Redis pub/sub (sharded pub/sub on a Cluster).
 *
 * - Deliveries: delivered locally first, then published once, serialized once, on the channel
 *   of each named room, user or connection (or the broadcast channel). A node listens only to
 *   the channels of its own rooms, users and connections (the hub tells it through
 *   watch/unwatch), ignores its own messages coming back (except history publications that ask
 *   for it, see RedisHistory), and keeps one copy of a message
 *   published on several of its channels.
 * - Queries: request/response over the control channel, waiting only for live nodes, never
 *   longer than `requestTimeout`; partial answers name the missing nodes.
 * - Liveness: heartbeats in a Redis sorted set (see NodeRegistry). Presence: Redis sets per
 *   (room, user), cleaned up after dead nodes (see PresenceStore).
 * - Room streams: `history` (see RedisHistory): one script per publication to a history room.
 * - Redis outages: local delivery goes on; cross-node publishes fail at once (no offline
 *   queue), are counted and logged, and `publish` rejects with `publish_failed`; queries
 *   answer from the nodes reachable; when Redis is back, subscriptions are restored, presence
 *   re-announced, and delivery resumes by itself.
 */
export class RedisAdapter implements Adapter {
  readonly keyPrefix: string
  /** State the nodes share beyond the bus (Pusher cache channels, HTTP rate limits), under `keyPrefix`. */
  readonly store: RedisStore
  /**
   * Room streams (history and recovery) in Redis, shared by every node: each publication is
   * stored and published by one script, so offsets and bus order agree. See `RedisHistory`.
   */
  readonly history: RedisHistory
  readonly #options: ResolvedRedisAdapterOptions
  readonly #keys: Keyspace
  /** This adapter's identity on the bus: the origin of its messages and the name of its answer channel. */
  readonly #busId = randomToken()
  readonly #pub: BusConnection
  readonly #sub: BusConnection
  readonly #publisher: BusPublisher
  readonly #subscriptions: Subscriptions
  readonly #recent = new RecentMessages()
  readonly #outages: OutageLog
  #attached: Attached | undefined
  #state: State = 'new'
  #startedUp = false
  #timer: NodeJS.Timeout | undefined
  #sequence = 0
  #closing: Promise<void> | undefined
  /** The previous incarnation, after this node found its registry entry gone, until it knows why. */
  #unverified: string | undefined
  /** The re-announcement of this node's presence, while it runs. */
  #recovery: Promise<void> | undefined
  readonly #counters = { received: 0, ownEchoes: 0, duplicates: 0, malformed: 0, presenceFailures: 0, reconnects: 0 }
  /** Connections that were ready once: their next 'ready' is a reconnect. */
  readonly #wereReady = new Set<BusConnection>()

  constructor(options: RedisAdapterOptions) {
    this.#options = resolveRedisAdapterOptions(options)
    this.keyPrefix = this.#options.keyPrefix
    this.#keys = new Keyspace(this.keyPrefix)
    this.#outages = new OutageLog(() => this.#attached?.node.log)
    this.#pub = duplicateConnection(this.#options.redis, 'publisher')
    this.#sub = duplicateConnection(this.#options.redis, 'subscriber')
    this.#publisher = new BusPublisher(this.#pub, {
      failFastWhenDown: true,
      onFailure: (err, channel) => this.#outages.failed('publish', err, { channel }),
      onRecovery: () => this.#outages.recovered('publish'),
    })
    this.#subscriptions = new Subscriptions(this.#sub, (err) => this.#outages.failed('subscribe', err))
    // On the command connection, which has no offline queue: while Redis is away the store's
    // commands fail at once (rate counters then count on this node alone).
    this.store = new RedisStore({ redis: this.#pub, prefix: `${this.keyPrefix}:`, log: () => this.#attached?.node.log })
    this.history = new RedisHistory({
      connection: this.#pub,
      keys: this.#keys,
      busId: this.#busId,
      node: () => this.#attached?.node,
      listening: (channel) => this.#subscriptions.listening(channel),
      untilListening: (channel) => this.#subscriptions.untilListening(channel, this.#options.requestTimeout),
      accepting: () => this.#state === 'attached' || this.#state === 'closing',
      onFailure: (what, err, details) => this.#outages.failed(what, err, details),
      onSuccess: (what) => this.#outages.recovered(what),
    })
  }

  /** Whether both of the adapter's Redis connections are ready (readiness checks read it). */
  get connected(): boolean {
    return this.#pub.status === 'ready' && this.#sub.status === 'ready'
  }

  /** A snapshot of the adapter's counters. */
  get stats(): RedisAdapterStats {
    const attached = this.#attached
    return {
      connected: this.connected,
      published: this.#publisher.published,
      publishFailures: this.#publisher.failures,
      ...this.#counters,
      queries: attached?.requests.sent ?? 0,
      partialAnswers: attached?.requests.partial ?? 0,
      subscriptions: this.#subscriptions.size,
      liveNodes: attached?.registry.liveNodes().length ?? 0,
    }
  }

  #readied(connection: BusConnection): void {
    if (this.#wereReady.has(connection)) this.#counters.reconnects++
    else this.#wereReady.add(connection)
  }

  async attach(node: AdapterNode): Promise<void> {
    if (this.#state !== 'new') throw new AdapterInUseError('redis')
    this.#state = 'attached'
    const registry = new NodeRegistry(this.#pub, this.#keys, node.nodeId, this.#options.heartbeatInterval, {
      departed: (nodeId) => this.#attached?.requests.departed(nodeId),
      claimed: (dead) => void this.#cleanUpAfter(dead),
      reincarnated: (previous) => {
        this.#unverified = previous
        this.#recover()
      },
      failed: (err) => this.#outages.failed('heartbeat', err),
    })
    const presence = new PresenceStore(this.#pub, this.#keys, () => registry.incarnation, {
      changed: (change) => this.#presenceChanged(change),
    })
    const requests = new RequestBroker({
      nodeId: node.nodeId,
      busId: this.#busId,
      timeout: this.#options.requestTimeout,
      send: (message) => this.#publisher.publish(this.#keys.control, encodeControl(message)),
    })
    this.#attached = { node, registry, presence, requests }

    const onMessage = (channel: string, message: string): void => this.#onMessage(channel, message)
    if (isClusterClient(this.#sub)) this.#sub.on('smessage', onMessage)
    else this.#sub.on('message', onMessage)
    this.#sub.on('ready', () => {
      this.#readied(this.#sub)
      this.#outages.recovered('subscriber connection')
      this.#subscriptions.restore()
    })
    this.#pub.on('ready', () => {
      this.#readied(this.#pub)
      this.#outages.recovered('publisher connection')
      if (this.#startedUp) void this.#announce()
    })
    this.#sub.on('error', (err: Error) => this.#outages.failed('subscriber connection', err))
    this.#pub.on('error', (err: Error) => this.#outages.failed('publisher connection', err))

    this.#subscriptions.add(this.#keys.broadcast)
    this.#subscriptions.add(this.#keys.control)
    this.#subscriptions.add(this.#keys.node(this.#busId))
    startConnecting(this.#pub)
    startConnecting(this.#sub)
    const [pubReady, subReady] = await Promise.all([
      waitUntilReady(this.#pub, this.#options.connectTimeout),
      waitUntilReady(this.#sub, this.#options.connectTimeout),
    ])
    if (pubReady && subReady) {
      await this.#subscriptions.settled()
      await this.#announce()
    } else {
      node.log.warn('roomcast: redis adapter: Redis is not reachable yet; running locally until it is')
    }
    this.#startedUp = true
    if (this.#state !== 'attached') return
    this.#timer = setInterval(() => {
      this.#recent.rotate()
      void registry.beat().then(() => {
        if (this.#unverified !== undefined) this.#recover()
      })
    }, this.#options.heartbeatInterval / 2)
  }

  /** Resolves once Redis acknowledged the PUBLISH (SPUBLISH) on every channel; rejects with `publish_failed`. */
  publish(delivery: Delivery): PublishOutcome {
    const attached = this.#attached
    if (attached === undefined) return Promise.reject(publishFailed(new Error('the redis adapter is not attached')))
    attached.node.deliver(delivery)
    if (this.#state !== 'attached' && this.#state !== 'closing') {
      return Promise.reject(publishFailed(new Error(`the redis adapter is ${this.#state}`)))
    }
    let channels: string[]
    if (delivery.target.kind === 'connections') {
      // A connection lives on one node: those on this one were just served.
      const remote = delivery.target.ids.filter((id) => !this.#isLocal(id))
      if (remote.length === 0) return PUBLISHED
      channels = this.#keys.deliveryChannels({ kind: 'connections', ids: remote })
    } else {
      channels = this.#keys.deliveryChannels(delivery.target)
    }
    if (channels.length === 0) return PUBLISHED
    const text = encodeDelivery(delivery, this.#busId, channels.length > 1 ? ++this.#sequence : undefined)
    // The bus takes no position: it resolves with nothing, as `PUBLISHED` does.
    return this.#publisher.publishAll(channels, text, publishFailed) as PublishOutcome
  }

  async query<Q extends Query>(query: Q): Promise<ClusterAnswer<QueryResult<Q>>> {
    const attached = this.#attached
    if (attached === undefined) throw new AdapterNotAttachedError('redis')
    // An action on connections that are all here needs nobody else (decided before acting:
    // a disconnected connection is no longer here).
    const allLocal =
      (query.type === 'join' || query.type === 'leave' || query.type === 'disconnect') &&
      query.target.kind === 'connections' &&
      query.target.ids.every((id) => this.#isLocal(id))
    const local = attached.node.answer(query)
    if (this.#state !== 'attached') {
      return { value: local, answered: [attached.node.nodeId], missing: this.#state === 'crashed' ? attached.registry.liveNodes() : [] }
    }
    if (allLocal) return { value: local, answered: [attached.node.nodeId], missing: [] }
    return attached.requests.ask(query, local, attached.registry.liveNodes())
  }

  watch(kind: InterestKind, name: string): void {
    if (this.#state === 'attached') this.#subscriptions.add(this.#keys.interest(kind, name))
  }

  unwatch(kind: InterestKind, name: string): void {
    if (this.#state === 'attached' || this.#state === 'closing') this.#subscriptions.remove(this.#keys.interest(kind, name))
  }

  /**
   * Decided by Redis. While Redis is unreachable it resolves false (counted, logged once per
   * outage); the change is kept and replayed when Redis is back, and its event emitted then.
   */
  async trackPresence(room: string, userId: string, action: 'join' | 'leave'): Promise<boolean> {
    const attached = this.#attached
    if (attached === undefined || this.#state === 'crashed' || this.#state === 'closed') return false
    try {
      const transition = await attached.presence.track(room, userId, action)
      this.#outages.recovered('presence update')
      return transition
    } catch (err) {
      this.#counters.presenceFailures++
      this.#outages.failed('presence update', err as Error, { room, userId, action })
      return false
    }
  }

  /**
   * Resolves when Redis has confirmed every subscription change, presence update and publish
   * made so far: after it, a message published anywhere reaches this node's new rooms.
   */
  async settled(): Promise<void> {
    await this.#subscriptions.settled()
    await this.#attached?.presence.idle()
    await this.#publisher.idle()
  }

  /** Leaves the cluster cleanly: presence withdrawn (with `leave` events), registry entry removed, connections closed. */
  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  /**
   * Drops off the bus the way a crash would: heartbeats stop and both Redis connections are cut,
   * with no goodbye and no clean-up, so the other nodes must notice the death themselves. For
   * failure drills and tests; `close` afterwards only finishes releasing resources.
   */
  disconnectAbruptly(): void {
    if (this.#state === 'closed' || this.#state === 'crashed') return
    this.#state = 'crashed'
    clearInterval(this.#timer)
    this.#attached?.presence.forget()
    this.#attached?.requests.finishAll()
    this.#subscriptions.clear()
    this.#pub.disconnect()
    this.#sub.disconnect()
  }

  async #close(): Promise<void> {
    clearInterval(this.#timer)
    const attached = this.#attached
    if (this.#state === 'attached' && attached !== undefined) {
      this.#state = 'closing'
      try {
        await attached.presence.withdraw()
        await attached.registry.deregister()
        await this.#publisher.publish(this.#keys.control, encodeControl({ t: 'bye', node: attached.node.nodeId, from: this.#busId }))
      } catch (err) {
        attached.node.log.warn({ err }, 'roomcast: redis adapter: could not leave the cluster cleanly; the other nodes will time this one out')
      }
      attached.requests.finishAll()
      await this.#publisher.idle()
    }
    this.#state = 'closed'
    this.#subscriptions.clear()
    await Promise.all([closeConnection(this.#sub), closeConnection(this.#pub)])
  }

  // ---------------------------------------------------------------- inbound

  #onMessage(channel: string, message: string): void {
    // Runs inside the Redis client's parser: nothing may throw out of here.
    try {
      if (this.#state !== 'attached' && this.#state !== 'closing') return
      if (channel === this.#keys.control || channel === this.#keys.node(this.#busId)) this.#onControl(message)
      else this.#onDelivery(message)
    } catch (err) {
      this.#attached?.node.log.error({ err, channel }, 'roomcast: redis adapter: handling a bus message failed')
    }
  }

  #onDelivery(message: string): void {
    let bus: ReturnType<typeof decodeDelivery>
    try {
      bus = decodeDelivery(message)
    } catch (err) {
      if (!(err instanceof WireFormatError)) throw err
      this.#counters.malformed++
      this.#attached?.node.log.debug({ err }, 'roomcast: redis adapter: dropped a malformed delivery')
      return
    }
    if (bus.origin === this.#busId && !bus.loopback) {
      this.#counters.ownEchoes++
      return
    }
    if (bus.sequence !== undefined && !this.#recent.firstSighting(bus.origin + '.' + bus.sequence)) {
      this.#counters.duplicates++
      return
    }
    this.#counters.received++
    this.#attached?.node.deliver(bus.delivery)
  }

  #onControl(text: string): void {
    const attached = this.#attached
    const message: ControlMessage | undefined = decodeControl(text)
    if (attached === undefined) return
    if (message === undefined) {
      this.#counters.malformed++
      return
    }
    if (message.t === 'answer') {
      attached.requests.answer(message)
      return
    }
    if (message.from === this.#busId) return
    switch (message.t) {
      case 'query':
        this.#answer(attached, message as QueryMessage)
        return
      case 'hello':
        attached.registry.markAlive(message.node)
        return
      case 'bye':
        attached.registry.markGone(message.node)
    }
  }

  #answer(attached: Attached, message: QueryMessage): void {
    let reply: ControlMessage
    try {
      reply = { t: 'answer', id: message.id, node: attached.node.nodeId, value: attached.node.answer(message.q) }
    } catch (err) {
      attached.node.log.error({ err, query: message.q.type }, 'roomcast: redis adapter: answering a cluster query failed')
      reply = { t: 'answer', id: message.id, node: attached.node.nodeId, error: (err as Error).message }
    }
    let text: string
    try {
      text = encodeControl(reply)
    } catch (err) {
      // Member info that JSON cannot carry (a BigInt, a cycle, a value nested too deep to
      // stringify): answer with the error rather than throw out of the Redis message listener.
      attached.node.log.error({ err, query: message.q.type }, 'roomcast: redis adapter: encoding a cluster answer failed')
      text = encodeControl({ t: 'answer', id: message.id, node: attached.node.nodeId, error: 'the answer could not be encoded as JSON' })
    }
    this.#publisher.send(this.#keys.node(message.from), text)
  }

  // ---------------------------------------------------------------- liveness and presence

  /** Redis is (again) reachable: heartbeat, bring presence up to date, say hello. */
  async #announce(): Promise<void> {
    const attached = this.#attached
    if (attached === undefined || this.#state !== 'attached') return
    await attached.registry.beat()
    this.#recover()
    await this.#recovery
  }

  /** Starts re-announcing this node's presence (coalesced with a run in progress). */
  #recover(): void {
    this.#recovery ??= this.#reannounce().finally(() => {
      this.#recovery = undefined
    })
  }

  /**
   * When this node's registry entry was gone, first finds out why: another node declared it
   * dead and cleaned up (its users' `leave`s went out, so their `join`s are due again), or
   * Redis lost its data (nobody saw them leave: re-announce them quietly). Then brings Redis
   * up to date and says hello.
   */
  async #reannounce(): Promise<void> {
    const attached = this.#attached
    if (attached === undefined || this.#state !== 'attached') return
    const previous = this.#unverified
    if (previous !== undefined) {
      let reaped: boolean
      try {
        reaped = await attached.presence.wasReaped(previous)
      } catch (err) {
        this.#outages.failed('presence resync', err as Error)
        return // tried again on the next heartbeat
      }
      this.#unverified = undefined
      if (reaped) attached.presence.forgetAnnouncements()
      attached.node.log.warn(
        { previous, incarnation: attached.registry.incarnation, reaped },
        reaped
          ? 'roomcast: redis adapter: this node had been declared dead; re-announcing its presence'
          : "roomcast: redis adapter: Redis lost this node's state; re-announcing its presence",
      )
    }
    try {
      await attached.presence.resync()
      if (previous !== undefined) await attached.presence.retire(previous)
      this.#outages.recovered('presence resync')
    } catch (err) {
      this.#outages.failed('presence resync', err as Error)
      return
    }
    await this.#publisher.publish(this.#keys.control, encodeControl({ t: 'hello', node: attached.node.nodeId, from: this.#busId }))
  }

  async #cleanUpAfter(dead: NodeMember): Promise<void> {
    const attached = this.#attached
    if (attached === undefined) return
    try {
      await attached.presence.cleanUp(dead)
      await attached.registry.released(dead)
      attached.node.log.info({ node: dead.nodeId, incarnation: dead.incarnation }, 'roomcast: redis adapter: cleaned up after a dead node')
    } catch (err) {
      // The claim expires and this node or another one tries again.
      this.#outages.failed('clean-up after a dead node', err as Error, { node: dead.nodeId })
    }
  }

  #presenceChanged(change: PresenceChange): void {
    const node = this.#attached?.node
    if (node?.presenceChanged !== undefined) node.presenceChanged(change)
    else node?.log.debug({ change }, 'roomcast: redis adapter: presence change not reported (the node does not accept them)')
  }

  #isLocal(connectionId: string): boolean {
    return this.#subscriptions.has(this.#keys.interest('connection', connectionId))
  }
}

/** The Redis adapter for the plugin's `adapter` option: `adapter: redisAdapter({ redis })`. */
export function redisAdapter(options: RedisAdapterOptions): RedisAdapter {
  return new RedisAdapter(options)
}
