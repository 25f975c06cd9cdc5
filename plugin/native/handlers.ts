import type { AnyEvents, EventsDefinition, ReplyData, ToServerData, ToServerEvent } from '../../shared/events.js'
import type { AuthenticatedConnection, Connection } from '../hub/connection.js'
import { HandlerExistsError } from '../hub/errors.js'

/**
 * Handles one application event. `data` is already validated against the event's schema.
 * When the client sent a request id, the returned value is the ack's data, and a thrown
 * `RoomcastError` becomes the error reply. Handlers run for authenticated connections only (a
 * connection that is not gets `not_authenticated`), so `connection.userId` is `U`.
 */
export type EventHandler<E extends EventsDefinition, K extends ToServerEvent<E>, U extends string | undefined = string | undefined> = (
  connection: AuthenticatedConnection<E, U>,
  data: ToServerData<E, K>,
  // biome-ignore lint/suspicious/noConfusingVoidType: a handler that answers nothing is a void function, and must type-check as one
) => ReplyData<E, K> | undefined | void | Promise<ReplyData<E, K> | undefined | void>

type AnyHandler = (connection: Connection<never>, data: unknown) => unknown

/** One handler per event, like a route: the handler's return value is the reply. */
export class HandlerRegistry<E extends EventsDefinition = AnyEvents> {
  readonly #handlers = new Map<string, AnyHandler>()

  set<K extends ToServerEvent<E>, U extends string | undefined>(event: K, handler: EventHandler<E, K, U>): void {
    if (this.#handlers.has(event)) throw new HandlerExistsError(event)
    this.#handlers.set(event, handler as unknown as AnyHandler)
  }

  delete(event: string): boolean {
    return this.#handlers.delete(event)
  }

  get(event: string): ((connection: Connection<E>, data: unknown) => unknown) | undefined {
    return this.#handlers.get(event) as ((connection: Connection<E>, data: unknown) => unknown) | undefined
  }
}
