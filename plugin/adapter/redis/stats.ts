/** Counters of a Redis adapter, for metrics and health checks. A snapshot: read `adapter.stats` again for fresh values. */
export interface RedisAdapterStats {
  /** Whether both of the adapter's Redis connections are ready. */
  connected: boolean
  /** Bus messages Redis accepted (deliveries, queries, answers, announcements). */
  published: number
  /** Bus messages that could not be published (Redis unreachable or failing); their local part was still delivered. */
  publishFailures: number
  /** Deliveries from other nodes and emitters handed to this node's hub. */
  received: number
  /** This node's own deliveries coming back from Redis, dropped (they were delivered locally already). */
  ownEchoes: number
  /** Extra copies of a multi-channel delivery, dropped. */
  duplicates: number
  /** Messages on the adapter's channels that could not be decoded, dropped. */
  malformed: number
  /** Cluster queries sent to other nodes. */
  queries: number
  /** Queries answered without every expected node (timeout, node death, or Redis unreachable). */
  partialAnswers: number
  /** Presence operations that failed (Redis unreachable); they are replayed when Redis is back. */
  presenceFailures: number
  /** Times one of the adapter's two connections became ready again after losing Redis. */
  reconnects: number
  /** Channels this node listens to. */
  subscriptions: number
  /** Other nodes currently known alive. */
  liveNodes: number
}
