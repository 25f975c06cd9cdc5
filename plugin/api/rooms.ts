import type { AnyEvents, EventsDefinition } from '../../shared/events.js'
import type { Hub } from '../hub/hub.js'
import { isProtocolName, nativeRoom, nativeRooms } from '../hub/namespace.js'
import type { BroadcastOperator, DeliveryApi } from '../hub/delivery-api.js'
import { NATIVE_PROTOCOL } from '../native/codec.js'
import type { RoomMember } from '../hub/queries.js'
import { readHistory } from '../native/streams.js'
import type { HistoryReply, StreamPosition } from '../../shared/envelope.js'
import { ErrorCode } from '../../shared/codes.js'
import { RoomcastError } from '../../shared/errors.js'
import { InvalidArgumentError } from '../hub/errors.js'

/** What `rooms.history` reads: publications after `since` (all kept ones without it), at most `limit` (default 100), newest first with `reverse`. */
export interface RoomHistoryQuery {
  since?: StreamPosition
  limit?: number
  reverse?: boolean
}

/**
 * `app.roomcast.rooms`: native rooms, their membership and deliveries, cluster-wide. Pusher
 * channels live in a namespace of their own: names of it are refused, `app.roomcast.pusher` reaches them.
 */
export class RoomsApi<E extends EventsDefinition = AnyEvents> {
  readonly #hub: Hub<E>
  readonly #delivery: DeliveryApi<E>

  constructor(hub: Hub<E>, delivery: DeliveryApi<E>) {
    this.#hub = hub
    this.#delivery = delivery
  }

  /** `rooms.to('lobby').except(id).emit(event, data)`. */
  to(rooms: string | readonly string[]): BroadcastOperator<E> {
    return this.#delivery.to(rooms)
  }

  /** Makes a native connection (on any node) join rooms; resolves with 1 when it was found, else 0. */
  async join(connectionId: string, rooms: string | readonly string[]): Promise<number> {
    return (await this.#hub.query({ type: 'join', target: { kind: 'connections', ids: [connectionId] }, rooms: nativeRooms(rooms), protocol: NATIVE_PROTOCOL }))
      .value
  }

  async leave(connectionId: string, rooms: string | readonly string[]): Promise<number> {
    return (
      await this.#hub.query({ type: 'leave', target: { kind: 'connections', ids: [connectionId] }, rooms: nativeRooms(rooms), protocol: NATIVE_PROTOCOL })
    ).value
  }

  /** Every connection in the room, with its user. */
  async members(room: string): Promise<RoomMember[]> {
    return (await this.#hub.query({ type: 'roomMembers', room: nativeRoom(room) })).value
  }

  /** Distinct users in the room: presence. */
  async users(room: string): Promise<string[]> {
    const members = await this.members(room)
    return [...new Set(members.flatMap((member) => (member.userId === undefined ? [] : [member.userId])))]
  }

  /** Connections in the room. */
  async size(room: string): Promise<number> {
    return (await this.#hub.query({ type: 'roomSize', room: nativeRoom(room) })).value
  }

  /**
   * A room's stored publications (see the `history` option), with `data` parsed, and the
   * stream's current position. `complete` is false when `since` is in another epoch or older
   * than what the history still keeps. Rejects with `RoomcastError('no_history')` for a room
   * that keeps none.
   */
  async history(room: string, query: RoomHistoryQuery = {}): Promise<HistoryReply> {
    const name = nativeRoom(room)
    const limit = query.limit
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new InvalidArgumentError('rooms.history limit must be a positive integer')
    const since = query.since
    if (since !== undefined && (typeof since.epoch !== 'string' || !Number.isInteger(since.offset) || since.offset < 0)) {
      throw new InvalidArgumentError('rooms.history since must be { epoch: string, offset: integer >= 0 }')
    }
    const reply = await readHistory(this.#hub, name, query)
    if (reply === undefined) throw new RoomcastError(ErrorCode.NoHistory, `${name} keeps no history`)
    return reply
  }

  /** Every native room with at least one member. */
  async list(): Promise<string[]> {
    return (await this.#hub.query({ type: 'rooms' })).value.filter((room) => !isProtocolName(room))
  }
}
