import type { DroppedPayload, MembershipPayload, PresencePayload, RecoveryFailure, StreamPosition } from '../shared/envelope.js'
import type { RoomcastError } from '../shared/errors.js'
import type { EventsDefinition, ToClientData, ToClientEvent } from '../shared/events.js'
import type { ClientState } from './state.js'

/** What comes with an application event besides its payload. */
export interface MessageMeta {
  /** The room the message was sent to, when it was a room delivery. */
  room?: string
  /** For rooms with history: the publication's place in the room's stream (see `recovery`). */
  offset?: number
  epoch?: string
}

/**
 * The outcome of filling a gap in a room's stream (rooms with history only): after a
 * reconnection (the rejoin asks the server to replay what was missed), after the server's
 * `dropped` notice (the client reads the gap from history), or when the stream began anew.
 */
export interface RecoveryInfo {
  room: string
  /** True when every missed publication was delivered (before this event, in order). */
  recovered: boolean
  /**
   * Why not: the stream began anew (`epoch_changed`), more was missed than the history keeps
   * (`too_far_behind`), or the room keeps no history (`no_history`). Absent when the request
   * for the missed publications failed; that error is reported as an `error` event.
   */
  reason?: RecoveryFailure
  /** How many missed publications were delivered before this event. */
  replayed: number
}

/** One stored publication of a room, as `client.history()` returns it: typed by the events map. */
export type Publication<E extends EventsDefinition> = {
  [K in ToClientEvent<E>]: { offset: number; event: K; data: ToClientData<E, K> }
}[ToClientEvent<E>]

/** What `client.history()` resolves with. */
export interface HistoryResult<E extends EventsDefinition> {
  /** The stream's current position. */
  epoch: string
  offset: number
  /** Oldest first, unless `reverse`. */
  publications: Array<Publication<E>>
  /** False when `since` lies before what the history still keeps, or in another epoch: publications were lost in between. */
  complete: boolean
}

/** Options of `client.history()`. */
export interface HistoryOptions {
  /** Only publications after this position. */
  since?: StreamPosition
  /** At most this many (default 100, at most 1000). */
  limit?: number
  /** Newest first. */
  reverse?: boolean
  /** Time to wait for the reply, in ms. Default: the client's `requestTimeout`. */
  timeout?: number
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
  /** Whether this connection runs through a transform (client-to-server encryption). */
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
  /** The close code: 4003 for a refusal, 1006 for an upgrade refused over HTTP (`refuseUpgradeWith: 'http'`). */
  code: number
  reason: string
  /**
   * `auth_refused` (an `AuthRefusedError`) for a refused authentication (`invalid_data` when the
   * credentials failed the events' `auth` schema); `disconnected` for other terminal codes and
   * exhausted retries.
   */
  error: RoomcastError
  /** The HTTP status (401, 403) an upgrade was refused with, when it is known. */
  status?: number
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
  /**
   * A room's stream was recovered, or could not be (`recovered: false`: reload what you show,
   * e.g. with `client.history()`). The missed publications, when recovered, were delivered to
   * their listeners before this event, in order and each once.
   */
  recovery: RecoveryInfo
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
