import type { FastifyRequest } from 'fastify'
import type { EventsDefinition } from '../../shared/events.js'
import type { Connection, Identity } from '../hub/connection.js'
import type { HeartbeatOptions } from '../hub/hub.js'
import type { RateLimitOptions } from '../hub/rate-window.js'
import type { BackpressureOptions } from '../ws/socket-sink.js'
import type { EncryptionMode } from './encryption.js'

/** Refuses an upgrade with this HTTP status (401 when a hook just returns null). */
export interface Refusal {
  refuse: true
  statusCode?: number
  message?: string
}

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
