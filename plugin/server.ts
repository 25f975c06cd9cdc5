import type { AnyEvents, EventsDefinition, ToClientData, ToClientEvent, ToServerEvent } from '../shared/events.js'
import { ConnectionsApi } from './api/connections.js'
import { RoomsApi } from './api/rooms.js'
import { UsersApi } from './api/users.js'
import { PusherNotEnabledError } from './hub/errors.js'
import type { HookMap, HookName } from './hub/hooks.js'
import type { Hub } from './hub/hub.js'
import { DeliveryApi } from './hub/delivery-api.js'
import type { PublishOutcome } from './hub/publish-outcome.js'
import type { ClusterAnswer, Query, QueryResult } from './hub/queries.js'
import { NATIVE_PROTOCOL } from './native/codec.js'
import type { EventHandler, HandlerRegistry } from './native/handlers.js'
import type { PusherService } from './pusher/service.js'
import { healthOf, type HealthReport } from './api/health.js'

/**
 * `app.roomcast`: the decorator a registration adds. `E` is the application's events, `U` the
 * type of `userId` on authenticated native connections (see `RoomcastTypes`).
 */
export class RoomcastServer<E extends EventsDefinition = AnyEvents, U extends string | undefined = string | undefined> {
  readonly connections: ConnectionsApi<E>
  readonly rooms: RoomsApi<E>
  readonly users: UsersApi<E>
  /** Cluster-wide deliveries to native connections: `to(room)`, `toUser(id)`, `toConnection(id)`, `broadcast(...)`. */
  readonly emitter: DeliveryApi<E>
  #pusher: PusherService | undefined = undefined
  readonly #hub: Hub<E>
  readonly #handlers: HandlerRegistry<E>

  constructor(hub: Hub<E>, handlers: HandlerRegistry<E>, events: E | undefined) {
    this.#hub = hub
    this.#handlers = handlers
    this.emitter = new DeliveryApi<E>((delivery) => hub.publish(delivery), events, NATIVE_PROTOCOL)
    this.connections = new ConnectionsApi(hub, this.emitter)
    this.rooms = new RoomsApi(hub, this.emitter)
    this.users = new UsersApi(hub, this.emitter)
  }

  /** This node's id in the cluster. */
  get nodeId(): string {
    return this.#hub.nodeId
  }

  /**
   * The Pusher protocol's server side (apps, trigger, users, presence, channel events). Throws
   * `ROOMCAST_PUSHER_NOT_ENABLED` when the plugin was registered without the `pusher` option.
   */
  get pusher(): PusherService {
    if (this.#pusher === undefined) throw new PusherNotEnabledError()
    return this.#pusher
  }

  /** Whether the `pusher` option was given, so `pusher` may be read. */
  get pusherEnabled(): boolean {
    return this.#pusher !== undefined
  }

  /** @internal Set once by the registration, when the `pusher` option is given. */
  attachPusher(service: PusherService): void {
    this.#pusher = service
  }

  /**
   * Handles an application event sent by clients. One handler per event. Handlers run only for
   * authenticated connections: `connection.userId` is `U`.
   */
  on<K extends ToServerEvent<E>>(event: K, handler: EventHandler<E, K, U>): this {
    this.#handlers.set(event, handler)
    return this
  }

  off(event: ToServerEvent<E>): this {
    this.#handlers.delete(event)
    return this
  }

  /** Adds a lifecycle hook: connection, authenticated, join, leave, disconnect, presence, error. */
  addHook<K extends HookName>(name: K, handler: HookMap<E>[K]): this {
    this.#hub.hooks.add(name, handler)
    return this
  }

  /** Sends to every authenticated connection in the cluster; resolves when the cluster bus took it, rejects with `publish_failed`. */
  broadcast<K extends ToClientEvent<E>>(event: K, data: ToClientData<E, K>): PublishOutcome {
    return this.emitter.broadcast(event, data)
  }

  /**
   * This node's liveness and readiness, as the `health` routes answer them: not ready while it
   * drains, shuts down, or its adapter has lost its connection (`reasons` says which).
   */
  health(): HealthReport {
    return healthOf(this.#hub)
  }

  /** A raw cluster query: the merged value plus which nodes answered and which did not. */
  query<Q extends Query>(query: Q): Promise<ClusterAnswer<QueryResult<Q>>> {
    return this.#hub.query(query)
  }
}
