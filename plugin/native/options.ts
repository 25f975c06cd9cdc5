import type { FastifyRequest } from 'fastify'
import type { AuthData, EventsDefinition } from '../../shared/events.js'
import type { AuthenticatedConnection, Identity } from '../hub/connection.js'
import type { HeartbeatOptions } from '../hub/hub.js'
import type { RateLimitOptions } from '../hub/rate-window.js'
import type { BackpressureOptions } from '../ws/socket-sink.js'
import type { EncryptionMode } from './encryption.js'

/**
 * Refuses an upgrade with this status (401 when a hook just returns null). Under
 * `refuseUpgradeWith: 'close'` a 401 or 403 reaches the client as a 4003 close; any other status
 * is answered over HTTP.
 */
export interface Refusal {
  refuse: true
  statusCode?: number
  message?: string
}

/**
 * How an upgrade refused with 401 or 403 by `authenticateRequest` is answered. `close`: the upgrade
 * completes and the socket is closed at once with 4003 and the reason `auth_refused:<status>
 * <message>`, which browsers can read (they see only 1006 for a refused upgrade). `http`: the HTTP
 * status and a JSON body, and never a socket.
 */
export type UpgradeRefusalMode = 'close' | 'http'

/** What `authorizeJoin` is asked: may this authenticated connection join these rooms? */
export interface JoinRequest<E extends EventsDefinition, U extends string | undefined = string | undefined> {
  connection: AuthenticatedConnection<E, U>
  rooms: string[]
}

/** `authenticateRequest`: runs before the upgrade (see `RoomcastOptions`). */
export type RequestAuthenticator<U extends string | undefined = string | undefined> = (
  request: FastifyRequest,
) => Identity<U> | null | undefined | Refusal | Promise<Identity<U> | null | undefined | Refusal>

/** `authenticate`: the client's `authenticate` data, checked against the events' `auth` schema when there is one. */
export type Authenticator<E extends EventsDefinition, U extends string | undefined = string | undefined> = (
  data: AuthData<E>,
  request: FastifyRequest,
) => Identity<U> | null | Promise<Identity<U> | null>

/**
 * The resolved options the native route and session read: their slice of `RoomcastOptions`,
 * so the protocol depends on what it uses rather than on the whole plugin's options.
 */
export interface NativeOptions<E extends EventsDefinition, U extends string | undefined = string | undefined> {
  events: E | undefined
  path: string
  authenticateRequest: RequestAuthenticator<U> | undefined
  refuseUpgradeWith: UpgradeRefusalMode
  /** How long a socket refused by a 4003 close may take to answer the close before it is cut, in ms. */
  closeGracePeriod: number
  authenticate: Authenticator<E, U> | undefined
  authTimeout: number
  authorizeJoin: ((request: JoinRequest<E, U>) => string[] | boolean | Promise<string[] | boolean>) | undefined
  defaultRooms: ((connection: AuthenticatedConnection<E, U>) => string[] | Promise<string[]>) | undefined
  /** Longest wait for an application hook's promise, in ms (`withHookTimeout`). */
  hookTimeout: number
  maxRoomsPerConnection: number
  heartbeat: HeartbeatOptions
  maxPayload: number
  /** Largest frame on the wire: `maxPayload`, or what a message of that size becomes once sealed when encryption is on. */
  maxFrame: number
  rateLimit: RateLimitOptions | false
  backpressure: BackpressureOptions
  encryption: EncryptionMode
  encryptionBatchSize: number
}
