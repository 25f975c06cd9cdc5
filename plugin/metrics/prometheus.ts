/**
 * roomcast's Prometheus metrics on prom-client. Rare events (refusals, HTTP requests, cluster
 * queries, fan-out durations) are counted as they are reported; everything frequent or already
 * counted elsewhere (the hub's traffic counters, connections, rooms, the Redis adapter's and the
 * webhooks' stats) is read in `collect` callbacks when Prometheus scrapes, so traffic costs
 * nothing more than a plain integer increment. Labels: protocol, Pusher app id (configured
 * apps only), close code, route pattern, status, fixed reasons; never a room name or user id.
 */
import type { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { RedisAdapter } from '../adapter/redis/adapter.js'
import type { RedisAdapterStats } from '../adapter/redis/stats.js'
import type { Hub } from '../hub/hub.js'
import { type AuthFailure, HubMetrics, type MetricsEvents } from '../hub/metrics.js'
import type { WebhookSender, WebhookStats } from '../pusher/webhooks/sender.js'
import { appOf, ConnectionCensus, type ProtocolTotals } from './census.js'
import type { PromClientModule } from './load.js'
import type { ResolvedMetricsOptions } from './options.js'

/** What the scrape-time metrics read. */
export interface MetricSources {
  hub: Hub
  /** The Pusher webhooks, when the Pusher protocol sends any. */
  webhooks: WebhookSender | undefined
}

/** Fan-outs are short: from a tenth of a millisecond (a few sockets) to a second (a stalled node). */
const FANOUT_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]
/** Cluster queries are bounded by the adapter's request timeout (seconds). */
const QUERY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

type CollectedValue = [labels: Record<string, string>, value: number]

export class PrometheusMetrics implements MetricsEvents {
  readonly registry: Registry
  /** Where the registry is served; false: it is only filled. */
  readonly route: string | false
  readonly hubMetrics: HubMetrics
  readonly #prom: PromClientModule
  readonly #prefix: string
  readonly #authFailures: Counter<'protocol' | 'app' | 'reason'>
  readonly #joinRefusals: Counter<'protocol' | 'app'>
  readonly #rateLimited: Counter<'protocol' | 'app'>
  readonly #fanOut: Histogram
  readonly #queryDuration: Histogram<'type'>
  readonly #queryPartial: Counter<'type'>
  readonly #httpRequests: Counter<'route' | 'method' | 'status' | 'app'>

  constructor(prom: PromClientModule, options: ResolvedMetricsOptions) {
    this.#prom = prom
    this.#prefix = options.prefix
    // The option is typed by what roomcast uses (`MetricsRegistry`); the schema checked those members, and prom-client's own Registry is what it takes.
    this.registry = (options.registry as Registry | undefined) ?? new prom.Registry()
    this.route = options.route
    if (options.defaultMetrics) prom.collectDefaultMetrics({ register: this.registry, prefix: options.prefix })
    this.hubMetrics = new HubMetrics(this)
    const registers = [this.registry]
    const name = (short: string): string => this.#prefix + short
    this.#authFailures = new prom.Counter({
      name: name('auth_failures_total'),
      help: 'Authentications refused, timed out or failed (native), and Pusher connections to unknown or disabled apps and failed sign-ins.',
      labelNames: ['protocol', 'app', 'reason'],
      registers,
    })
    this.#joinRefusals = new prom.Counter({
      name: name('join_refusals_total'),
      help: 'Joins (Pusher subscriptions) refused by the application or the protocol.',
      labelNames: ['protocol', 'app'],
      registers,
    })
    this.#rateLimited = new prom.Counter({
      name: name('rate_limited_total'),
      help: 'Connections closed for sending messages faster than the rate limit.',
      labelNames: ['protocol', 'app'],
      registers,
    })
    this.#fanOut = new prom.Histogram({
      name: name('fanout_duration_seconds'),
      help: "Time to write one delivery to this node's recipients.",
      buckets: FANOUT_BUCKETS,
      registers,
    })
    this.#queryDuration = new prom.Histogram({
      name: name('cluster_query_duration_seconds'),
      help: 'Time to answer a cluster-wide query (room members and sizes, user connections, joins and disconnects by the server API).',
      labelNames: ['type'],
      buckets: QUERY_BUCKETS,
      registers,
    })
    this.#queryPartial = new prom.Counter({
      name: name('cluster_query_partial_answers_total'),
      help: 'Cluster queries answered without every node (a node did not answer in time, or the adapter lost its connection).',
      labelNames: ['type'],
      registers,
    })
    this.#httpRequests = new prom.Counter({
      name: name('http_requests_total'),
      help: 'Pusher HTTP API requests answered, by route pattern, method, status and app.',
      labelNames: ['route', 'method', 'status', 'app'],
      registers,
    })
  }

  // ---------------------------------------------------------------- reported events

  authFailed(protocol: string, app: string, reason: AuthFailure): void {
    this.#authFailures.inc({ protocol, app, reason })
  }

  joinRefused(protocol: string, app: string): void {
    this.#joinRefusals.inc({ protocol, app })
  }

  rateLimited(protocol: string, app: string): void {
    this.#rateLimited.inc({ protocol, app })
  }

  queried(type: string, seconds: number, partial: boolean): void {
    this.#queryDuration.observe({ type }, seconds)
    if (partial) this.#queryPartial.inc({ type })
  }

  httpRequest(route: string, method: string, status: number, app: string): void {
    this.#httpRequests.inc({ route, method, status: String(status), app })
  }

  fannedOut(seconds: number): void {
    this.#fanOut.observe(seconds)
  }

  // ---------------------------------------------------------------- read at scrape time

  /** Adds the metrics read from the running node; called once the hub and the protocols exist. */
  observe({ hub, webhooks }: MetricSources): void {
    this.#observeConnections(hub)
    this.#observeTraffic(hub)
    this.#observeRooms(hub)
    this.#observeAdapter(hub)
    if (webhooks !== undefined) this.#observeWebhooks(webhooks)
  }

  #observeConnections(hub: Hub): void {
    const registers = [this.registry]
    const census = new ConnectionCensus(hub)
    // Label sets seen once are reported at 0 when their last connection leaves, instead of vanishing.
    const seen = new Map<string, Record<string, string>>()
    this.#gauge('connections_open', 'Open connections on this node.', ['protocol', 'app'], () => {
      const values: CollectedValue[] = []
      const current = new Set<string>()
      for (const [protocol, apps] of census.take().open) {
        for (const [app, count] of apps) {
          const key = `${protocol}\u0000${app}`
          current.add(key)
          if (!seen.has(key)) seen.set(key, { protocol, app })
          values.push([{ protocol, app }, count])
        }
      }
      for (const [key, labels] of seen) if (!current.has(key)) values.push([labels, 0])
      return values
    })
    const perProtocol = (pick: (totals: ProtocolTotals) => number) => (): CollectedValue[] =>
      [...census.take().totals].map(([protocol, totals]) => [{ protocol }, pick(totals)])
    this.#counter(
      'dropped_messages_total',
      'Messages skipped for sockets past their backpressure limit (the drop policy).',
      ['protocol'],
      perProtocol((t) => t.dropped),
    )
    this.#counter(
      'received_bytes_total',
      "Bytes read from clients' sockets, WebSocket framing included.",
      ['protocol'],
      perProtocol((t) => t.bytesIn),
    )
    this.#counter(
      'sent_bytes_total',
      "Bytes written to clients' sockets, WebSocket framing included.",
      ['protocol'],
      perProtocol((t) => t.bytesOut),
    )

    const opened = new this.#prom.Counter({ name: this.#prefix + 'connections_total', help: 'Connections accepted.', labelNames: ['protocol'], registers })
    const closes = new this.#prom.Counter({
      name: this.#prefix + 'connection_closes_total',
      help: 'Connections closed, by either side, by close code.',
      labelNames: ['protocol', 'app', 'code'],
      registers,
    })
    const joins = new this.#prom.Counter({
      name: this.#prefix + 'joins_total',
      help: 'Room joins (Pusher subscriptions).',
      labelNames: ['protocol'],
      registers,
    })
    const leaves = new this.#prom.Counter({
      name: this.#prefix + 'leaves_total',
      help: 'Room leaves, closing connections included.',
      labelNames: ['protocol'],
      registers,
    })
    hub.hooks.add('connection', (connection) => opened.inc({ protocol: connection.protocol }))
    hub.hooks.add('disconnect', (connection, { code }) => closes.inc({ protocol: connection.protocol, app: appOf(connection), code: String(code) }))
    hub.hooks.add('join', (connection) => joins.inc({ protocol: connection.protocol }))
    hub.hooks.add('leave', (connection) => leaves.inc({ protocol: connection.protocol }))
  }

  #observeTraffic(hub: Hub): void {
    const traffic = hub.metrics!.trafficByProtocol()
    const read = (pick: (protocol: { messagesIn: number; deliveries: number; presenceMembers: number }) => number) => (): CollectedValue[] =>
      [...traffic].map(([protocol, counters]) => [{ protocol }, pick(counters)])
    this.#counter(
      'messages_received_total',
      'Messages received from clients.',
      ['protocol'],
      read((c) => c.messagesIn),
    )
    this.#counter(
      'deliveries_total',
      'Messages written to connections by fan-out, one per recipient.',
      ['protocol'],
      read((c) => c.deliveries),
    )
    this.#gauge(
      'presence_members',
      'Users present in rooms on this node: one per room and user with a connection here.',
      ['protocol'],
      read((c) => c.presenceMembers),
    )
  }

  #observeRooms(hub: Hub): void {
    let sample: Map<string, { rooms: number; members: number }> | undefined
    const take = (): Map<string, { rooms: number; members: number }> => {
      if (sample !== undefined) return sample
      sample = new Map()
      for (const members of hub.localRoomMembers()) {
        const first = members.values().next().value
        if (first === undefined) continue
        const entry = sample.get(first.protocol) ?? { rooms: 0, members: 0 }
        entry.rooms++
        entry.members += members.size
        sample.set(first.protocol, entry)
      }
      const taken = sample
      setImmediate(() => {
        if (sample === taken) sample = undefined
      })
      return sample
    }
    this.#gauge('rooms', 'Rooms (Pusher channels) with a member on this node.', ['protocol'], () => [...take()].map(([protocol, s]) => [{ protocol }, s.rooms]))
    this.#gauge('room_members', 'Room memberships of connections on this node.', ['protocol'], () =>
      [...take()].map(([protocol, s]) => [{ protocol }, s.members]),
    )
  }

  #observeAdapter(hub: Hub): void {
    const adapter = hub.adapter
    this.#gauge('adapter_connected', 'Whether the adapter reaches the rest of the cluster (1) or lost its connection (0).', [], () => [
      [{}, adapter.connected === false ? 0 : 1],
    ])
    if (!(adapter instanceof RedisAdapter)) return
    const stats: Array<[kind: 'counter' | 'gauge', short: string, help: string, pick: (stats: RedisAdapterStats) => number]> = [
      ['counter', 'redis_published_total', 'Bus messages Redis accepted.', (s) => s.published],
      [
        'counter',
        'redis_publish_failures_total',
        'Bus messages that could not be published (Redis unreachable or failing); their local part was delivered.',
        (s) => s.publishFailures,
      ],
      ['counter', 'redis_received_total', 'Deliveries from other nodes and emitters handed to this node.', (s) => s.received],
      ['counter', 'redis_reconnects_total', "Times one of the adapter's Redis connections became ready again after losing Redis.", (s) => s.reconnects],
      ['gauge', 'redis_subscriptions', 'Redis channels this node listens to.', (s) => s.subscriptions],
      ['gauge', 'cluster_live_nodes', 'Other nodes known alive.', (s) => s.liveNodes],
    ]
    for (const [kind, short, help, pick] of stats) this.#unlabelled(kind, short, help, () => pick(adapter.stats))
  }

  #observeWebhooks(webhooks: WebhookSender): void {
    this.#gauge('webhook_queue_depth', 'Webhook events waiting or in flight, per app.', ['app'], () => {
      const byApp = new Map<string, number>()
      for (const endpoint of webhooks.endpointStats) byApp.set(endpoint.appId, (byApp.get(endpoint.appId) ?? 0) + endpoint.queued)
      return [...byApp].map(([app, queued]) => [{ app }, queued])
    })
    const stats: Array<[short: string, help: string, pick: (stats: WebhookStats) => number]> = [
      ['webhook_events_sent_total', 'Webhook events a receiver accepted (2xx).', (s) => s.sent],
      ['webhook_requests_total', 'Webhook HTTP requests made, retries included.', (s) => s.requests],
      ['webhook_request_failures_total', 'Webhook requests that failed: non-2xx, network error or timeout.', (s) => s.failedRequests],
      ['webhook_retries_total', 'Webhook retries scheduled after a failure.', (s) => s.retries],
      ['webhook_events_failed_total', 'Webhook events abandoned once their retries ran out (or at shutdown).', (s) => s.gaveUp],
      ['webhook_events_dropped_total', "Webhook events refused because their endpoint's queue was full.", (s) => s.dropped],
    ]
    for (const [short, help, pick] of stats) this.#unlabelled('counter', short, help, () => pick(webhooks.stats))
  }

  /** A metric without labels whose one value is read at scrape time. */
  #unlabelled(kind: 'counter' | 'gauge', short: string, help: string, read: () => number): void {
    const collect = (): CollectedValue[] => [[{}, read()]]
    if (kind === 'counter') this.#counter(short, help, [], collect)
    else this.#gauge(short, help, [], collect)
  }

  /** A counter whose values are read when scraped (they only grow: they are totals kept elsewhere). */
  #counter(short: string, help: string, labelNames: string[], read: () => CollectedValue[]): void {
    new this.#prom.Counter({
      name: this.#prefix + short,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset()
        for (const [labels, value] of read()) this.inc(labels, value)
      },
    })
  }

  /** A gauge whose values are read when scraped. */
  #gauge(short: string, help: string, labelNames: string[], read: () => CollectedValue[]): Gauge {
    return new this.#prom.Gauge({
      name: this.#prefix + short,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset()
        for (const [labels, value] of read()) this.set(labels, value)
      },
    })
  }
}
