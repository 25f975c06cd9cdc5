import type { FastifyBaseLogger } from 'fastify'
import type { Delivery } from './delivery.js'
import type { HistoryStore } from './history.js'
import type { PresenceChange } from './hooks.js'
import type { PublishOutcome } from './publish-outcome.js'
import type { ClusterAnswer, Query, QueryResult } from './queries.js'
import type { RateDecision } from './rate-windows.js'

/** What a hub offers its adapter: local delivery and local answers. */
export interface AdapterNode {
  readonly nodeId: string
  readonly log: FastifyBaseLogger
  /** Fans a delivery out to this node's own connections. */
  deliver(delivery: Delivery): void
  /** This node's part of a cluster-wide query or action. */
  answer<Q extends Query>(query: Q): QueryResult<Q>
  /**
   * A cluster-wide presence transition the adapter found by itself rather than through
   * `trackPresence` (a dead node's users leaving, say): the node emits it like its own.
   */
  presenceChanged?(change: PresenceChange): void
}

/** What the hub keeps an adapter informed of, so it listens only for what this node needs. */
export type InterestKind = 'room' | 'user' | 'connection'

/**
 * The only way a delivery leaves a node. The in-process adapter delivers locally; a cluster
 * adapter also carries deliveries and queries to other nodes. The hub never knows which.
 */
export interface Adapter {
  /** Called once when the plugin starts. */
  attach(node: AdapterNode): Promise<void>
  /**
   * Delivers locally at once and to every other node that has recipients. Never throws. The
   * outcome resolves once the cluster bus took the delivery (at once when no bus was needed:
   * `PUBLISHED`) and rejects with `RoomcastError('publish_failed')` (see `publishFailed`) when
   * it could not be handed over; the local recipients were served either way.
   */
  publish(delivery: Delivery): PublishOutcome
  /** Asks every live node (this one included) and merges the answers; never waits past its timeout. */
  query<Q extends Query>(query: Q): Promise<ClusterAnswer<QueryResult<Q>>>
  /** The first local member of a room / socket of a user / a connection appeared. */
  watch(kind: InterestKind, name: string): void
  /** The last one left. */
  unwatch(kind: InterestKind, name: string): void
  /**
   * A user's first local connection entered a room (`join`) or its last one left (`leave`).
   * Resolves true when that is also a transition for the whole cluster, so presence events are
   * emitted once per user, not once per node or socket.
   */
  trackPresence(room: string, userId: string, action: 'join' | 'leave'): Promise<boolean>
  /** Stops listening and releases connections the adapter opened itself. */
  close(): Promise<void>
  /**
   * State every node must agree on (a protocol's caches and rate counters), where this adapter
   * keeps it: this process for the in-process adapter, Redis for the Redis adapter. Absent on
   * an adapter that has none: its users then keep that state in this node's memory.
   */
  readonly store?: SharedStore
  /**
   * Room streams (history and recovery), where this adapter keeps them. Absent on an adapter
   * that has none: rooms configured with history then fail at registration.
   */
  readonly history?: HistoryStore
  /**
   * Whether the adapter can reach the rest of the cluster now (a Redis adapter: both of its
   * connections are ready). Readiness checks read it; absent: always connected (in-process).
   */
  readonly connected?: boolean
}

/**
 * Small shared values and counters. Keys are namespaced by their user (`pusher-cache:`, ...);
 * the adapter adds its own prefix. Values are strings (JSON for structured data).
 */
export interface SharedStore {
  /** The value under `key`, or undefined when there is none or it expired. */
  get(key: string): Promise<string | undefined>
  /** Stores `value` under `key` for `ttlMs` (`Infinity`: until replaced). */
  set(key: string, value: string, ttlMs: number): Promise<void>
  /**
   * Takes `points` from `key`'s budget of `limit` per fixed window of `windowMs`, the window
   * starting with the first point counted; a refused request takes nothing.
   */
  consume(key: string, points: number, limit: number, windowMs: number): Promise<RateDecision>
}

/** An adapter, or a function that makes one per plugin registration. */
export type AdapterOption = Adapter | (() => Adapter)
