import type { IncomingHttpHeaders } from 'node:http'
import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import type { StreamPosition } from '../../shared/envelope.js'
import type { AnyEvents, EventsDefinition, ToClientData, ToClientEvent } from '../../shared/events.js'
import type { WireCodec } from './codec.js'
import { PreparedFrame } from './frame.js'
import type { Sink } from './sink.js'
import { encodeData } from './delivery.js'
import { checkOutgoing } from './delivery-api.js'

export type ConnectionState = 'authenticating' | 'authenticated' | 'closing' | 'closed'

/**
 * Who a connection is, as decided by `authenticateRequest` or `authenticate`: its user id, of
 * type `U`, and metadata. The `userId` may be left out (an anonymous connection) only when `U`
 * admits `undefined`, the default.
 */
export type Identity<U extends string | undefined = string | undefined> = {
  metadata?: Record<string, unknown>
} & (undefined extends U ? { userId?: U } : { userId: U })

/**
 * What a connection keeps of its upgrade request. The Fastify request itself (with the raw
 * `IncomingMessage`, its parser state and its raw headers) is let go once the connection is
 * open, so that an idle connection does not hold it for its whole life; hooks that run before
 * that (`authenticateRequest`, `authenticate`) still get the whole request.
 */
export interface UpgradeRequest {
  /** The upgrade's URL, query string included. */
  readonly url: string
  readonly headers: IncomingHttpHeaders
}

/** What the hub does for a connection; kept narrow so the connection does not see the hub. */
export interface ConnectionHost {
  changeMembership(connection: Connection, action: 'join' | 'leave', rooms: readonly string[]): void
  close(connection: Connection, code: number, reason: string): void
}

/**
 * A replacement for the sink, installed by a per-connection transform (client-to-server
 * encryption): it receives every outgoing frame's text in order, instead of the socket, and
 * answers like the sink: false when the message was not taken (backpressure, closed).
 */
export type OutboundTransform = (text: string, frame?: PreparedFrame) => boolean

/**
 * A connection past authentication, as application event handlers, `authorizeJoin` and
 * `defaultRooms` see it (the native protocol runs none of them before authentication): its
 * `userId` is `U`, a `string` by default. The plugin passes `RegisteredUserId` (see
 * `RoomcastTypes`), which is `string | undefined` unless the application declares that every
 * connection has a user.
 */
export type AuthenticatedConnection<E extends EventsDefinition = AnyEvents, U extends string | undefined = string> = Connection<E> & { userId: U }

/** One live client connection on this node. */
export class Connection<E extends EventsDefinition = AnyEvents> {
  /** Unguessable id (UUID v4 from the CSPRNG), unique across the cluster. */
  readonly id: string
  readonly protocol: string
  readonly remoteAddress: string
  readonly connectedAt = Date.now()
  /** The upgrade request's URL and headers (the remote address is `remoteAddress`). */
  readonly request: UpgradeRequest
  /** The upgrade request's logger: what roomcast logs about this connection goes there. */
  readonly log: FastifyBaseLogger
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
  /**
   * Live publications of rooms whose history is being replayed to this connection, held back
   * until the replay is written (see `hold` / `release`). Undefined when nothing is held, so a
   * delivery costs one field check.
   */
  #held: Map<string, PreparedFrame[]> | undefined
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
    this.request = { url: init.request.url, headers: init.request.headers }
    this.log = init.request.log
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

  /** @internal Writes a frame built for many recipients (held back while its room's history is replayed). */
  writeFrame(frame: PreparedFrame): boolean {
    if (this.#held !== undefined && frame.room !== undefined) {
      const held = this.#held.get(frame.room)
      if (held !== undefined) {
        held.push(frame)
        return true
      }
    }
    return this.#write(frame)
  }

  /** @internal Writes a replayed publication: never held back. */
  writeReplayed(frame: PreparedFrame): boolean {
    return this.#write(frame)
  }

  #write(frame: PreparedFrame): boolean {
    if (this.outbound !== undefined) return this.outbound(frame.text, frame)
    return this.sink.write(frame)
  }

  /**
   * @internal Holds this room's live publications back from now on, while its history is read
   * and replayed: whatever the store's read misses arrives here instead, so nothing falls in
   * between. False when the room is already held (a replay for it is under way).
   */
  hold(room: string): boolean {
    const held = (this.#held ??= new Map())
    if (held.has(room)) return false
    held.set(room, [])
    return true
  }

  /** @internal The earliest publication held back for a room in `epoch`, if any. */
  firstHeld(room: string, epoch: string): number | undefined {
    let first: number | undefined
    for (const frame of this.#held?.get(room) ?? []) {
      const position = frame.position!
      if (position.epoch === epoch && (first === undefined || position.offset < first)) first = position.offset
    }
    return first
  }

  /** @internal Ends a room's hold and forgets what it held (the join that asked for it failed). */
  discardHeld(room: string): void {
    this.#held?.delete(room)
    if (this.#held?.size === 0) this.#held = undefined
  }

  /**
   * @internal Ends a room's hold: writes, in stream order, the held publications the replay did
   * not already contain (those after `sent` in its epoch; all of them in another epoch) and
   * returns the position of the last publication written (`sent` when none was).
   */
  release(room: string, sent: StreamPosition | undefined): StreamPosition | undefined {
    const held = this.#held?.get(room)
    if (held === undefined) return sent
    this.#held!.delete(room)
    if (this.#held!.size === 0) this.#held = undefined
    let last = sent
    held.sort((a, b) => (a.position!.epoch === b.position!.epoch ? a.position!.offset - b.position!.offset : 0))
    for (const frame of held) {
      const position = frame.position!
      if (last !== undefined && position.epoch === last.epoch && position.offset <= last.offset) continue
      this.#write(frame)
      last = position
    }
    return last
  }

  /** @internal Writes a frame built for this connection alone. */
  writeText(text: string): boolean {
    if (this.outbound !== undefined) return this.outbound(text)
    return this.sink.write(new PreparedFrame(text))
  }
}
