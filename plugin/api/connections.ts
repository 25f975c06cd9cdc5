import { CloseCode } from '../../shared/codes.js'
import type { AnyEvents, EventsDefinition, ToClientData, ToClientEvent } from '../../shared/events.js'
import type { Connection } from '../hub/connection.js'
import type { DrainOptions, Hub } from '../hub/hub.js'
import type { DeliveryApi } from '../hub/delivery-api.js'
import type { PublishOutcome } from '../hub/publish-outcome.js'

/** `app.roomcast.connections`: this node's connections, and cluster-wide sends and disconnects by id. */
export class ConnectionsApi<E extends EventsDefinition = AnyEvents> implements Iterable<Connection<E>> {
  readonly #hub: Hub<E>
  readonly #delivery: DeliveryApi<E>

  constructor(hub: Hub<E>, delivery: DeliveryApi<E>) {
    this.#hub = hub
    this.#delivery = delivery
  }

  /** A connection of this node. */
  get(id: string): Connection<E> | undefined {
    return this.#hub.connections.get(id)
  }

  /** Connections on this node. */
  count(): number {
    return this.#hub.connections.size
  }

  /** Connections on every node (partial when a node does not answer in time). */
  async countAll(): Promise<number> {
    return (await this.#hub.query({ type: 'connectionCount' })).value
  }

  [Symbol.iterator](): Iterator<Connection<E>> {
    return this.#hub.connections.values()
  }

  /** Sends an event to one native connection, wherever it is in the cluster (a Pusher socket id reaches nothing); the outcome is `emit()`'s. */
  send<K extends ToClientEvent<E>>(id: string, event: K, data: ToClientData<E, K>): PublishOutcome {
    return this.#delivery.toConnection(id).emit(event, data)
  }

  /** Closes a connection wherever it is; resolves with how many were closed (0 or 1). */
  async disconnect(id: string, code: number = CloseCode.Kicked, reason = 'disconnected by the server'): Promise<number> {
    return (await this.#hub.query({ type: 'disconnect', target: { kind: 'connections', ids: [id] }, code, reason })).value
  }

  /** Closes every connection of this node at once. */
  closeAll(code?: number, reason?: string): void {
    this.#hub.closeAll(code, reason)
  }

  /** Closes this node's connections gradually and refuses new ones; resolves when all are closed. */
  drain(options?: DrainOptions): Promise<void> {
    return this.#hub.drain(options)
  }
}
