/**
 * The metrics port: what the layers tell the metrics layer while metrics are on. With metrics
 * off the hub has none (`hub.metrics` is undefined) and every call site is one field check.
 *
 * Frequent events (messages in, deliveries out) only bump plain integers here, read when
 * Prometheus scrapes; the rare ones (refusals, rate limits, HTTP requests, cluster queries)
 * go straight to the `MetricsEvents` the metrics layer implements. Labels are bounded by
 * construction: protocols, app ids, close codes and fixed reasons, never a room or user.
 */

/** Why an authentication or admission was refused. */
export type AuthFailure =
  /** The application's hook said no (`authenticateRequest`/`authenticate` → null), or a bad signature. */
  | 'refused'
  /** The client did not authenticate within `authTimeout`. */
  | 'timeout'
  /** The application's hook threw or did not answer within `hookTimeout`. */
  | 'error'
  /** Pusher: no app with this key, or the app is disabled. */
  | 'unknown_app'

/** The rare events, with their labels; implemented by the metrics layer. */
export interface MetricsEvents {
  /** A client could not authenticate (or a Pusher user could not sign in). `app`: the Pusher app id, '' for native. */
  authFailed(protocol: string, app: string, reason: AuthFailure): void
  /** A join (a Pusher subscription) was refused by the application or the protocol's rules. */
  joinRefused(protocol: string, app: string): void
  /** A connection was closed for sending too fast. */
  rateLimited(protocol: string, app: string): void
  /** A cluster query finished: its type, how long it took, and whether some node did not answer. */
  queried(type: string, seconds: number, partial: boolean): void
  /** An HTTP API request was answered. `route`: its pattern, never the raw URL. */
  httpRequest(route: string, method: string, status: number, app: string): void
  /** A local fan-out took this long. */
  fannedOut(seconds: number): void
}

/** Plain counters of one protocol's traffic and presence, read at scrape time. */
export class TrafficCounters {
  /** Messages received from clients. */
  messagesIn = 0
  /** Messages written to connections by fan-out (one per recipient). */
  deliveries = 0
  /** Users present in rooms on this node: one per (room, user) with a local connection. */
  presenceMembers = 0
}

/** What the hub and the protocols count while metrics are on. */
export class HubMetrics {
  readonly events: MetricsEvents
  readonly #traffic = new Map<string, TrafficCounters>()
  /** The last protocol looked up: a fan-out is almost always one protocol's, so the map is rarely read. */
  #lastProtocol = ''
  #last: TrafficCounters | undefined

  constructor(events: MetricsEvents) {
    this.events = events
  }

  /** One protocol's counters; a route keeps them and bumps their fields directly. */
  traffic(protocol: string): TrafficCounters {
    if (protocol === this.#lastProtocol && this.#last !== undefined) return this.#last
    let counters = this.#traffic.get(protocol)
    if (counters === undefined) {
      counters = new TrafficCounters()
      this.#traffic.set(protocol, counters)
    }
    this.#lastProtocol = protocol
    this.#last = counters
    return counters
  }

  /**
   * Deliveries of the fan-out under way, not yet added to their protocol's counters: a fan-out
   * bumps `pending` per recipient (a field increment, no call) and adds it up once at its end.
   * A recipient of another protocol than `pendingProtocol` moves the count over first, so a
   * nested fan-out (a hook publishing while one runs) still counts every delivery once.
   */
  pending = 0
  pendingProtocol = ''

  /** A recipient of another protocol: what was counted goes to its protocol, and counting goes on for `protocol`. */
  countFor(protocol: string): void {
    this.settlePending()
    this.pendingProtocol = protocol
  }

  /** Adds the pending deliveries to their protocol's counters. */
  settlePending(): void {
    if (this.pending === 0) return
    this.traffic(this.pendingProtocol).deliveries += this.pending
    this.pending = 0
  }

  /** Every protocol's counters so far. */
  trafficByProtocol(): ReadonlyMap<string, TrafficCounters> {
    this.settlePending()
    return this.#traffic
  }
}
