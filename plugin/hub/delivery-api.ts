import { ErrorCode } from '../../shared/codes.js'
import { RoomcastError } from '../../shared/errors.js'
import type { AnyEvents, EventsDefinition, ToClientData, ToClientEvent } from '../../shared/events.js'
import { encodeData, type Delivery, type Target } from './delivery.js'

export type Publish = (delivery: Delivery) => void

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
  readonly #publish: Publish
  readonly #events: EventsDefinition | undefined
  readonly #target: Target
  readonly #except: readonly string[]

  constructor(publish: Publish, events: EventsDefinition | undefined, target: Target, except: readonly string[] = []) {
    this.#publish = publish
    this.#events = events
    this.#target = target
    this.#except = except
  }

  /** Adds rooms to a room target (a connection in several gets the message once). */
  to(rooms: string | readonly string[]): BroadcastOperator<E> {
    if (this.#target.kind !== 'rooms') throw new TypeError('roomcast: to() adds rooms to a room target only')
    const target: Target = { kind: 'rooms', rooms: [...new Set([...this.#target.rooms, ...asList(rooms)])] }
    return new BroadcastOperator<E>(this.#publish, this.#events, target, this.#except)
  }

  /** Leaves these connection ids out. */
  except(connectionIds: string | readonly string[]): BroadcastOperator<E> {
    return new BroadcastOperator<E>(this.#publish, this.#events, this.#target, [...this.#except, ...asList(connectionIds)])
  }

  /** Sends the event. Throws `RoomcastError('invalid_data')` when `data` fails the event's schema. */
  emit<K extends ToClientEvent<E>>(event: K, data: ToClientData<E, K>): void {
    checkOutgoing(this.#events, event, data)
    const delivery: Delivery = { target: this.#target, event, data: encodeData(data) }
    if (this.#except.length > 0) delivery.except = [...this.#except]
    this.#publish(delivery)
  }
}

/** The delivery API shared by the plugin (`app.roomcast.emitter`) and the standalone Emitter. */
export class DeliveryApi<E extends EventsDefinition = AnyEvents> {
  readonly #publish: Publish
  readonly #events: EventsDefinition | undefined

  constructor(publish: Publish, events: EventsDefinition | undefined) {
    this.#publish = publish
    this.#events = events
  }

  /** Every connection in these rooms, on every node. */
  to(rooms: string | readonly string[]): BroadcastOperator<E> {
    return this.#operator({ kind: 'rooms', rooms: asList(rooms) })
  }

  /** Every connection of these users, on every node. */
  toUser(userIds: string | readonly string[]): BroadcastOperator<E> {
    return this.#operator({ kind: 'users', users: asList(userIds) })
  }

  /** These connections, wherever they are. */
  toConnection(connectionIds: string | readonly string[]): BroadcastOperator<E> {
    return this.#operator({ kind: 'connections', ids: asList(connectionIds) })
  }

  /** Every authenticated connection in the cluster. */
  all(): BroadcastOperator<E> {
    return this.#operator({ kind: 'all' })
  }

  broadcast<K extends ToClientEvent<E>>(event: K, data: ToClientData<E, K>): void {
    this.all().emit(event, data)
  }

  #operator(target: Target): BroadcastOperator<E> {
    return new BroadcastOperator<E>(this.#publish, this.#events, target)
  }
}
