/**
 * What is read off the connections when Prometheus scrapes, instead of being counted as it
 * happens: open connections per protocol and app, messages dropped under backpressure, and
 * bytes on the wire. One walk over this node's connections per scrape serves every metric
 * that needs it; what closed connections had is kept in totals when they leave, so the
 * counters never go back.
 */
import type { Connection } from '../hub/connection.js'
import type { Hub } from '../hub/hub.js'
import { PUSHER_PROTOCOL } from '../pusher/protocol.js'
import { SocketSink } from '../ws/socket-sink.js'

/** Counts of one protocol, summed over its connections. */
export interface ProtocolTotals {
  dropped: number
  bytesIn: number
  bytesOut: number
}

export interface CensusResult {
  /** Open connections per protocol, then per app id ('' outside the Pusher protocol). */
  open: Map<string, Map<string, number>>
  /** Live and closed connections' totals, per protocol. */
  totals: Map<string, ProtocolTotals>
}

/** The Pusher app a connection belongs to ('' for other protocols): a label from configuration, never from a client. */
export function appOf(connection: Connection): string {
  if (connection.protocol !== PUSHER_PROTOCOL) return ''
  const appId = connection.metadata.pusherAppId
  return typeof appId === 'string' ? appId : ''
}

function totalsOf(map: Map<string, ProtocolTotals>, protocol: string): ProtocolTotals {
  let totals = map.get(protocol)
  if (totals === undefined) {
    totals = { dropped: 0, bytesIn: 0, bytesOut: 0 }
    map.set(protocol, totals)
  }
  return totals
}

function add(totals: ProtocolTotals, connection: Connection): void {
  const sink = connection.sink
  totals.dropped += sink.dropped
  if (sink instanceof SocketSink) {
    totals.bytesIn += sink.bytesRead
    totals.bytesOut += sink.bytesWritten
  }
}

export class ConnectionCensus {
  readonly #hub: Hub
  /** What connections that left had counted, per protocol. */
  readonly #closed = new Map<string, ProtocolTotals>()
  #current: CensusResult | undefined

  constructor(hub: Hub) {
    this.#hub = hub
    // Read as it leaves: the sink's counts stop growing once the connection is gone.
    hub.hooks.add('disconnect', (connection) => add(totalsOf(this.#closed, connection.protocol), connection))
  }

  /**
   * This scrape's view. One scrape collects every metric within one turn of the event loop, so
   * the walk is kept until the next turn and shared by all of them.
   */
  take(): CensusResult {
    if (this.#current !== undefined) return this.#current
    const open = new Map<string, Map<string, number>>()
    const totals = new Map<string, ProtocolTotals>()
    for (const [protocol, closed] of this.#closed) totals.set(protocol, { ...closed })
    for (const connection of this.#hub.connections.values()) {
      let apps = open.get(connection.protocol)
      if (apps === undefined) {
        apps = new Map()
        open.set(connection.protocol, apps)
      }
      const app = appOf(connection)
      apps.set(app, (apps.get(app) ?? 0) + 1)
      add(totalsOf(totals, connection.protocol), connection)
    }
    this.#current = { open, totals }
    setImmediate(() => {
      this.#current = undefined
    })
    return this.#current
  }
}
