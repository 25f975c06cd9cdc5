import { ErrorCode } from '../../shared/codes.js'
import { RoomcastError } from '../../shared/errors.js'
import type { AnyEvents, EventsDefinition, ToClientData, ToClientEvent } from '../../shared/events.js'
import { encodeData, type Delivery, type Target } from './delivery.js'
import type { PublishOutcome } from './publish-outcome.js'
import { nativeRooms, nativeUsers } from './namespace.js'
import { InvalidArgumentError } from './errors.js'

/** Hands a delivery over; the outcome must already be marked handled (see `handled`). */
export type Publish = (delivery: Delivery) => PublishOutcome

/** What every operator of one delivery API shares. */
interface Route {
  readonly publish: Publish
  readonly events: EventsDefinition | undefined
  /** The protocol whose connections its deliveries reach; another protocol's clients are reached through that protocol's API. */
  readonly protocol: string
}

/**
 * Checks an outgoing event against the application's `toClient` schemas (when it declared
 * any). Throws `RoomcastError('unknown_event' | 'invalid_data')`, so a bad message is refused
 * before anything is sent.
 */
export function checkOutgoing(events: EventsDefinition | undefined, event: string, data: unknown): void {
  if (events === undefined) return
  const validator = events.toClientValidator(event)
  if (validator === undefined) {
    throw new RoomcastError(ErrorCode.UnknownEvent, `"${event}" is not a declared toClient event`)
  }
  if (!validator.check(data)) {
    throw new RoomcastError(ErrorCode.InvalidData, `data of "${event}" does not match its schema`, validator.errors(data))
  }
}

/** One name or many, as a fresh array. */
export function asList(value: string | readonly string[]): string[] {
  return typeof value === 'string' ? [value] : [...value]
}

/**
 * Builds a delivery step by step: `to(room).except(id).emit(event, data)`. Immutable, so a
 * partly built operator can be kept and reused. The payload is validated against the event's
 * schema and serialized once, whatever the number of recipients or nodes.
 */
export class BroadcastOperator<E extends EventsDefinition = AnyEvents> {
  readonly #route: Route
  readonly #target: Target
  readonly #except: readonly string[]

  /** @internal Operators are made by a `DeliveryApi`. */
  constructor(route: Route, target: Target, except: readonly string[] = []) {
    this.#route = route
    this.#target = target
    this.#except = except
  }

  /** Adds rooms to a room target (a connection in several gets the message once). */
  to(rooms: string | readonly string[]): BroadcastOperator<E> {
    if (this.#target.kind !== 'rooms') throw new InvalidArgumentError('to() adds rooms to a room target only')
    const target: Target = { kind: 'rooms', rooms: [...new Set([...this.#target.rooms, ...nativeRooms(rooms)])] }
    return new BroadcastOperator<E>(this.#route, target, this.#except)
  }

  /** Leaves these connection ids out. */
  except(connectionIds: string | readonly string[]): BroadcastOperator<E> {
    return new BroadcastOperator<E>(this.#route, this.#target, [...this.#except, ...asList(connectionIds)])
  }

  /**
   * Sends the event: this node's recipients get it at once. The promise resolves when the
   * cluster bus took it and rejects with `RoomcastError('publish_failed')` when it did not (the
   * other nodes' recipients did not get it); ignoring it is safe (never an unhandled rejection).
   * Throws `RoomcastError('invalid_data')` at once when `data` fails the event's schema.
   */
  emit<K extends ToClientEvent<E>>(event: K, data: ToClientData<E, K>): PublishOutcome {
    const route = this.#route
    checkOutgoing(route.events, event, data)
    const delivery: Delivery = { target: this.#target, event, data: encodeData(data), protocol: route.protocol }
    if (this.#except.length > 0) delivery.except = [...this.#except]
    return route.publish(delivery)
  }
}

/** The delivery API shared by the plugin (`app.roomcast.emitter`) and the standalone Emitter. */
export class DeliveryApi<E extends EventsDefinition = AnyEvents> {
  readonly #route: Route

  /** Deliveries go to `publish`, checked against `events`, for the connections of `protocol`. */
  constructor(publish: Publish, events: EventsDefinition | undefined, protocol: string) {
    this.#route = { publish, events, protocol }
  }

  /** Every connection in these rooms, on every node. */
  to(rooms: string | readonly string[]): BroadcastOperator<E> {
    return this.#operator({ kind: 'rooms', rooms: nativeRooms(rooms) })
  }

  /** Every connection of these users, on every node. */
  toUser(userIds: string | readonly string[]): BroadcastOperator<E> {
    return this.#operator({ kind: 'users', users: nativeUsers(userIds) })
  }

  /** These connections, wherever they are. */
  toConnection(connectionIds: string | readonly string[]): BroadcastOperator<E> {
    return this.#operator({ kind: 'connections', ids: asList(connectionIds) })
  }

  /** Every authenticated native connection in the cluster (Pusher clients: `app.roomcast.pusher.trigger`). */
  all(): BroadcastOperator<E> {
    return this.#operator({ kind: 'all' })
  }

  /** `all().emit(event, data)`, with its outcome. */
  broadcast<K extends ToClientEvent<E>>(event: K, data: ToClientData<E, K>): PublishOutcome {
    return this.all().emit(event, data)
  }

  #operator(target: Target): BroadcastOperator<E> {
    return new BroadcastOperator<E>(this.#route, target)
  }
}
