import type { AnyEvents, EventsDefinition } from '../../shared/events.js'
import type { Hub } from '../hub/hub.js'
import { isProtocolName, nativeRoom, nativeRooms } from '../hub/namespace.js'
import type { BroadcastOperator, DeliveryApi } from '../hub/delivery-api.js'
import { NATIVE_PROTOCOL } from '../native/codec.js'
import type { RoomMember } from '../hub/queries.js'

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

  /** Every native room with at least one member. */
  async list(): Promise<string[]> {
    return (await this.#hub.query({ type: 'rooms' })).value.filter((room) => !isProtocolName(room))
  }
}
