import type { DroppedPayload, MembershipPayload, PresencePayload } from '../shared/envelope.js'
import type { RoomcastError } from '../shared/errors.js'
import type { EventsDefinition, ToClientData, ToClientEvent } from '../shared/events.js'
import type { ClientState } from './state.js'

/** What comes with an application event besides its payload. */
export interface MessageMeta {
  /** The room the message was sent to, when it was a room delivery. */
  room?: string
}

export interface StateChange {
  state: ClientState
  previous: ClientState
}

export interface ConnectedInfo {
  connectionId: string
  userId: string | undefined
  /** The rooms the client is in now (restored ones included). */
  rooms: string[]
  /** False for the first connection, true for every later one. */
  reconnected: boolean
  /** Whether this connection runs through a transform (end-to-end encryption). */
  encrypted: boolean
}

export interface ReconnectingInfo {
  /** 1 for the first retry after a loss, counting up until a connection succeeds. */
  attempt: number
  /** How long the client waits before the attempt, in ms; undefined while it waits for the network to come back. */
  delay: number | undefined
  /** Close code of the connection that was lost (1006 when it never opened or was abandoned). */
  code: number
  reason: string
}

export interface DisconnectedInfo {
  code: number
  reason: string
  /** `auth_refused` for 4003; `disconnected` for other terminal codes and exhausted retries. */
  error: RoomcastError
}

/** The client's own events, on the same emitter as the application's. */
export interface ClientEventMap {
  /** Every state change. */
  state: StateChange
  /** Each time the client becomes usable: first connection and every reconnection. */
  connected: ConnectedInfo
  /** The connection was lost and another attempt is scheduled. */
  reconnecting: ReconnectingInfo
  /** The client ended for good (auth refused, kicked, retries exhausted). */
  disconnected: DisconnectedInfo
  /** `close()` was called. */
  closed: undefined
  /** Errors that belong to no call: server `error` events without a request, rooms refused on rejoin, throwing listeners, `auth` failures. */
  error: RoomcastError
  /** A user entered or left one of the client's rooms (servers with `presenceEvents`). */
  presence: PresencePayload
  /**
   * The server put the client in rooms or took it out of rooms on its own; `rooms` already
   * reflects it, and rooms taken away are not rejoined after a reconnection.
   */
  membership: MembershipPayload
  /**
   * The server skipped `count` messages for this client because it read too slowly (the server's
   * `drop` backpressure policy); what arrives next follows a gap. Sent once the client caught up.
   */
  dropped: DroppedPayload
}

export type ClientEventName = keyof ClientEventMap

/** Every name `on()` accepts: the client's events and the application's `toClient` events. */
export type ListenableEvent<E extends EventsDefinition> = ClientEventName | ToClientEvent<E>

/** The handler of an event: the client's own take their payload, application events get payload and meta. */
export type EventHandler<E extends EventsDefinition, K extends ListenableEvent<E>> = K extends ClientEventName
  ? (payload: ClientEventMap[K]) => void
  : K extends ToClientEvent<E>
    ? (data: ToClientData<E, K>, meta: MessageMeta) => void
    : never
