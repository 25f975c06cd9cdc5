import type { FastifyRequest } from 'fastify'
import type { AnyEvents, EventsDefinition, ToClientData, ToClientEvent } from '../../shared/events.js'
import type { WireCodec } from './codec.js'
import { PreparedFrame } from './frame.js'
import type { Sink } from './sink.js'
import { encodeData } from './delivery.js'
import { checkOutgoing } from './delivery-api.js'

export type ConnectionState = 'authenticating' | 'authenticated' | 'closing' | 'closed'

/** Who a connection is, as decided by `authenticateRequest` or `authenticate`. */
export interface Identity {
  userId?: string
  metadata?: Record<string, unknown>
}

/** What the hub does for a connection; kept narrow so the connection does not see the hub. */
export interface ConnectionHost {
  changeMembership(connection: Connection, action: 'join' | 'leave', rooms: readonly string[]): void
  close(connection: Connection, code: number, reason: string): void
}

/**
 * A replacement for the sink, installed by a per-connection transform (end-to-end
 * encryption): it receives every outgoing frame's text in order, instead of the socket, and
 * answers like the sink: false when the message was not taken (backpressure, closed).
 */
export type OutboundTransform = (text: string) => boolean

/** One live client connection on this node. */
export class Connection<E extends EventsDefinition = AnyEvents> {
  /** Unguessable id (UUID v4 from the CSPRNG), unique across the cluster. */
  readonly id: string
  readonly protocol: string
  readonly remoteAddress: string
  readonly connectedAt = Date.now()
  /** The upgrade request: headers, query, remote address. */
  readonly request: FastifyRequest
  state: ConnectionState = 'authenticating'
  userId: string | undefined
  metadata: Record<string, unknown> = {}
  /** Rooms this connection is in. Change it through `join` / `leave`. */
  readonly rooms = new Set<string>()
  /** Last time anything arrived from the peer (ms since epoch); the heartbeat sweep reads it. */
  lastSeen = Date.now()

  /** @internal */ readonly codec: WireCodec
  /** @internal */ readonly sink: Sink
  /** @internal */ outbound: OutboundTransform | undefined
  /**
   * Per-room data the protocol attaches to a membership and `roomMembers` answers report
   * (Pusher presence: `{ user_id, user_info }`). Created on first use; JSON values only.
   */
  memberInfo: Map<string, unknown> | undefined
  readonly #host: ConnectionHost
  readonly #events: EventsDefinition | undefined

  constructor(init: {
    id: string
    request: FastifyRequest
    codec: WireCodec
    sink: Sink
    host: ConnectionHost
    /** The application's events: `send` checks outgoing data against them like every other emit. */
    events?: EventsDefinition | undefined
  }) {
    this.id = init.id
    this.request = init.request
    this.remoteAddress = init.request.ip
    this.codec = init.codec
    this.protocol = init.codec.protocol
    this.sink = init.sink
    this.#host = init.host
    this.#events = init.events
  }

  get authenticated(): boolean {
    return this.state === 'authenticated'
  }

  /** Messages dropped for this connection by the `drop` backpressure policy. */
  get dropped(): number {
    return this.sink.dropped
  }

  /** Sends an application event to this connection only. Throws `RoomcastError` on data failing its schema. */
  send<K extends ToClientEvent<E>>(event: K, data: ToClientData<E, K>): boolean {
    checkOutgoing(this.#events, event, data)
    return this.writeText(this.codec.encode({ target: { kind: 'connections', ids: [this.id] }, event, data: encodeData(data) }, undefined))
  }

  /** Puts the connection in rooms; its client hears of it (a `membership` event). */
  join(...rooms: string[]): void {
    this.#host.changeMembership(this, 'join', rooms)
  }

  /** Takes the connection out of rooms; its client hears of it and will not rejoin them. */
  leave(...rooms: string[]): void {
    this.#host.changeMembership(this, 'leave', rooms)
  }

  /** Closes the connection; it leaves every room at once, the socket closes with `code`. */
  close(code = 1000, reason = ''): void {
    this.#host.close(this, code, reason)
  }

  /** @internal Writes a frame built for many recipients. */
  writeFrame(frame: PreparedFrame): boolean {
    if (this.outbound !== undefined) return this.outbound(frame.text)
    return this.sink.write(frame)
  }

  /** @internal Writes a frame built for this connection alone. */
  writeText(text: string): boolean {
    if (this.outbound !== undefined) return this.outbound(text)
    return this.sink.write(new PreparedFrame(text))
  }
}
