import { CloseCode } from '../../shared/codes.js'
import type { AnyEvents, EventsDefinition } from '../../shared/events.js'
import type { Hub } from '../hub/hub.js'
import { nativeRooms, nativeUser, nativeUsers } from '../hub/namespace.js'
import type { BroadcastOperator, DeliveryApi } from '../hub/delivery-api.js'
import { NATIVE_PROTOCOL } from '../native/codec.js'

/** `app.roomcast.users`: every native connection of a user, on every node (Pusher's signed-in users: `app.roomcast.pusher`). */
export class UsersApi<E extends EventsDefinition = AnyEvents> {
  readonly #hub: Hub<E>
  readonly #delivery: DeliveryApi<E>

  constructor(hub: Hub<E>, delivery: DeliveryApi<E>) {
    this.#hub = hub
    this.#delivery = delivery
  }

  to(userIds: string | readonly string[]): BroadcastOperator<E> {
    return this.#delivery.toUser(userIds)
  }

  async connectionsOf(userId: string): Promise<string[]> {
    return (await this.#hub.query({ type: 'userConnections', userId: nativeUser(userId) })).value
  }

  async online(userId: string): Promise<boolean> {
    return (await this.connectionsOf(userId)).length > 0
  }

  /** Makes every connection of the users join rooms; resolves with how many connections did. */
  async join(userIds: string | readonly string[], rooms: string | readonly string[]): Promise<number> {
    return (
      await this.#hub.query({ type: 'join', target: { kind: 'users', users: nativeUsers(userIds) }, rooms: nativeRooms(rooms), protocol: NATIVE_PROTOCOL })
    ).value
  }

  async leave(userIds: string | readonly string[], rooms: string | readonly string[]): Promise<number> {
    return (
      await this.#hub.query({ type: 'leave', target: { kind: 'users', users: nativeUsers(userIds) }, rooms: nativeRooms(rooms), protocol: NATIVE_PROTOCOL })
    ).value
  }

  /** Closes every connection of the users (default code 4004: clients do not reconnect). */
  async disconnect(userIds: string | readonly string[], code: number = CloseCode.Kicked, reason = 'disconnected by the server'): Promise<number> {
    return (await this.#hub.query({ type: 'disconnect', target: { kind: 'users', users: nativeUsers(userIds) }, code, reason })).value
  }
}
