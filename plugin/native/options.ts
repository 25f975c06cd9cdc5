import type { FastifyRequest } from 'fastify'
import type { EventsDefinition } from '../../shared/events.js'
import type { Connection, Identity } from '../hub/connection.js'
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

export interface JoinRequest<E extends EventsDefinition> {
  connection: Connection<E>
  rooms: string[]
}

/**
 * The resolved options the native route and session read: their slice of `RoomcastOptions`,
 * so the protocol depends on what it uses rather than on the whole plugin's options.
 */
export interface NativeOptions<E extends EventsDefinition> {
  events: E | undefined
  path: string
  authenticateRequest: ((request: FastifyRequest) => Identity | null | undefined | Refusal | Promise<Identity | null | undefined | Refusal>) | undefined
  refuseUpgradeWith: UpgradeRefusalMode
  /** How long a socket refused by a 4003 close may take to answer the close before it is cut, in ms. */
  closeGracePeriod: number
  authenticate: ((data: unknown, request: FastifyRequest) => Identity | null | Promise<Identity | null>) | undefined
  authTimeout: number
  authorizeJoin: ((request: JoinRequest<E>) => string[] | boolean | Promise<string[] | boolean>) | undefined
  defaultRooms: ((connection: Connection<E>) => string[] | Promise<string[]>) | undefined
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
