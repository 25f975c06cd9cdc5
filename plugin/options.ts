import { randomUUID } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { encryptedFrameLength } from '../shared/e2e/index.js'
import type { AnyEvents, EventsDefinition } from '../shared/events.js'
import type { AdapterOption } from './hub/adapter.js'
import type { Connection, Identity } from './hub/connection.js'
import type { EncryptionMode } from './native/encryption.js'
import type { JoinRequest, NativeOptions, Refusal } from './native/options.js'
import type { RateLimitOptions } from './hub/rate-window.js'
import type { HeartbeatOptions } from './hub/hub.js'
import { historyResolver, type HistoryOption, type HistoryResolver } from './hub/history-policy.js'
import { resolvePusherOptions, type PusherOptions, type ResolvedPusherOptions } from './pusher/options.js'
import type { BackpressureOptions } from './ws/socket-sink.js'
import { resolveMetricsOptions, type MetricsOptions, type ResolvedMetricsOptions } from './metrics/options.js'
import { resolveHealthOptions, type HealthOptions, type ResolvedHealthOptions } from './api/health-options.js'

export type { Refusal, JoinRequest } from './native/options.js'
export type { RateLimitOptions } from './hub/rate-window.js'

export interface RoomcastOptions<E extends EventsDefinition = AnyEvents> {
  /** The application's events (`defineEvents`). Without it any event name is accepted, unvalidated. */
  events?: E
  /** WebSocket route of the native protocol. Default `/ws`. */
  path?: string
  /**
   * Runs before the upgrade. Return the identity to accept the connection as authenticated,
   * `undefined` to defer to in-band `authenticate`, or `null` / a `Refusal` to answer with an
   * HTTP error and never open a socket.
   */
  authenticateRequest?: (request: FastifyRequest) => Identity | null | undefined | Refusal | Promise<Identity | null | undefined | Refusal>
  /** In-band authentication: the client's `authenticate` data → identity, or null to refuse (close 4003). */
  authenticate?: (data: unknown, request: FastifyRequest) => Identity | null | Promise<Identity | null>
  /** Time allowed for in-band authentication before closing with 4001, in ms. Default 5000. */
  authTimeout?: number
  /** Which of the requested rooms a client may join: a subset, `true` for all, `false` for none. Default: all. */
  authorizeJoin?: (request: JoinRequest<E>) => string[] | boolean | Promise<string[] | boolean>
  /** Rooms a connection joins as soon as it is authenticated. */
  defaultRooms?: (connection: Connection<E>) => string[] | Promise<string[]>
  /**
   * Longest wait for an application hook's promise (`authenticateRequest`, `authenticate`,
   * `authorizeJoin`, `defaultRooms`, the Pusher app lookup), in ms; past it the hook's answer is
   * ignored, a warning is logged and the request is answered with `hook_timeout` (see the README).
   * Default 10000.
   */
  hookTimeout?: number
  /** Most rooms one connection may be in when it asks to join more (rooms from `defaultRooms` or server-side joins count, but are never refused). Default 100. */
  maxRoomsPerConnection?: number
  /**
   * Liveness: interval and timeout in ms, and the kind of probe. One sweep every `interval` closes
   * connections silent for `timeout` (4002), so between `timeout` and `timeout + interval`.
   */
  heartbeat?: Partial<HeartbeatOptions>
  /**
   * Largest accepted message in bytes; larger ones close the socket with 1009. For an encrypted
   * connection it limits the decrypted message, so encryption changes nothing an app sees.
   * Default 128 KiB.
   */
  maxPayload?: number
  /** Per-connection message rate limit, or false for none. Past it: `rate_limited` error, close 1008. */
  rateLimit?: Partial<RateLimitOptions> | false
  /**
   * Bound on a socket's unsent bytes and what happens past it; under `drop`, the client is told of
   * its gap (`dropped`) and closed with 1008 after `maxDropped` drops in a row (Pusher: 4100).
   */
  backpressure?: Partial<BackpressureOptions>
  /** Where deliveries go: the in-process adapter (default) or `redisAdapter(...)`. */
  adapter?: AdapterOption
  /** Send `presence` events to a room's members when a user enters or leaves it. Default false. */
  presenceEvents?: boolean
  /**
   * Which rooms keep a bounded, ordered history (positions on deliveries, recovery on rejoin,
   * `rewind`, `rooms.history`): rules `{ match: 'chat:*', size, ttl }` (the first that matches
   * wins; `*` is any run of characters) or a function `(room) => ({ size, ttl }) | undefined`.
   * `size`: 1 to 10 000 publications; `ttl`: ms. Default: no room keeps history. Needs an
   * adapter with a history store (the in-process and Redis adapters have one).
   */
  history?: HistoryOption
  /**
   * End-to-end encryption of each connection's frames (ECDH P-256 → HKDF-SHA256 → AES-256-GCM,
   * see the README). `optional`: clients may encrypt; `required`: a client that does not
   * complete the key exchange within `authTimeout` is closed with 4010. Default `off`.
   */
  encryption?: EncryptionMode
  /** Encryptions started per event-loop turn during fan-out to encrypted members. Default 256. */
  encryptionBatchSize?: number
  /**
   * The server's long-term identity (the private JWK from `generateServerIdentity()`): every key
   * exchange is signed with it, so clients that pin its public key
   * (`endToEndEncryption({ serverIdentity })`) detect a middlebox that rewrites the handshake.
   */
  encryptionIdentity?: JsonWebKey
  /**
   * permessage-deflate. Off by default: compressed sockets cannot share pre-built frames, so
   * every recipient costs a compression; turn on only for small fan-outs of large messages.
   */
  compression?: boolean
  /** How long shutdown waits for close handshakes before cutting sockets, in ms. Default 2000. */
  closeGracePeriod?: number
  /**
   * Time a new TCP connection has to send a complete HTTP request or finish its WebSocket
   * upgrade, in ms; past it, it gets a 408 and is closed. Default 10 000.
   */
  upgradeTimeout?: number
  /** This node's id in a cluster. Default: a random UUID. */
  nodeId?: string
  /** Also speak the Pusher Channels protocol (pusher-js, Laravel Echo) on `[pathPrefix]/app/:key`. */
  pusher?: PusherOptions
  /**
   * Prometheus metrics through prom-client (an optional peer dependency: `npm install
   * prom-client`). `true`: every metric in a registry of the plugin's own, served on `GET /metrics`;
   * an object picks the registry (the application's own), the name prefix (default `roomcast_`),
   * the route (`false`: only fill the registry) and prom-client's default process metrics.
   * Default false: nothing is loaded or counted.
   */
  metrics?: boolean | MetricsOptions
  /**
   * Liveness and readiness routes for load balancers and Kubernetes probes: `true` for
   * `GET /health/live` and `GET /health/ready`, or an object naming them. Readiness is 503 with
   * its reasons while the node drains, shuts down or has lost its adapter's connection.
   * Default false (`app.roomcast.health()` answers either way).
   */
  health?: boolean | HealthOptions
}

/** The options once defaulted and checked: the native protocol's slice, and what the rest of the plugin reads. */
export interface ResolvedOptions<E extends EventsDefinition> extends NativeOptions<E> {
  presenceEvents: boolean
  history: HistoryResolver | undefined
  encryptionIdentity: JsonWebKey | undefined
  compression: boolean
  closeGracePeriod: number
  upgradeTimeout: number
  nodeId: string
  pusher: ResolvedPusherOptions | undefined
  metrics: ResolvedMetricsOptions | undefined
  health: ResolvedHealthOptions | undefined
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`roomcast: ${name} must be a positive number`)
  return value
}

/** A positive delay that `setTimeout` honours (longer ones would fire at once). */
function timerDelay(name: string, value: number): number {
  if (positive(name, value) > 2_147_483_647) throw new TypeError(`roomcast: ${name} must be at most 2147483647 ms`)
  return value
}

/** A positive whole number, or `Infinity` where a bound may be turned off. */
function positiveCount(name: string, value: number): number {
  if (value !== Infinity && (!Number.isInteger(value) || value <= 0)) throw new TypeError(`roomcast: ${name} must be a positive integer or Infinity`)
  return value
}

function backpressurePolicy(policy: BackpressureOptions['policy'] | undefined): BackpressureOptions['policy'] {
  if (policy === undefined) return 'drop'
  if (policy !== 'drop' && policy !== 'close') throw new TypeError("roomcast: backpressure.policy must be 'drop' or 'close'")
  return policy
}

function encryptionMode(mode: EncryptionMode | undefined): EncryptionMode {
  if (mode === undefined) return 'off'
  if (mode !== 'off' && mode !== 'optional' && mode !== 'required') throw new TypeError("roomcast: encryption must be 'off', 'optional' or 'required'")
  return mode
}

export function resolveOptions<E extends EventsDefinition>(options: RoomcastOptions<E>): ResolvedOptions<E> {
  const heartbeat: HeartbeatOptions = {
    interval: positive('heartbeat.interval', options.heartbeat?.interval ?? 30_000),
    timeout: positive('heartbeat.timeout', options.heartbeat?.timeout ?? 90_000),
    mode: options.heartbeat?.mode ?? 'event',
  }
  if (heartbeat.timeout < heartbeat.interval) throw new TypeError('roomcast: heartbeat.timeout must not be shorter than heartbeat.interval')
  const path = options.path ?? '/ws'
  if (!path.startsWith('/')) throw new TypeError('roomcast: path must start with "/"')
  const maxPayload = positive('maxPayload', options.maxPayload ?? 128 * 1024)
  const encryption = encryptionMode(options.encryption)
  return {
    events: options.events,
    path,
    authenticateRequest: options.authenticateRequest,
    authenticate: options.authenticate,
    authTimeout: positive('authTimeout', options.authTimeout ?? 5_000),
    authorizeJoin: options.authorizeJoin,
    defaultRooms: options.defaultRooms,
    hookTimeout: timerDelay('hookTimeout', options.hookTimeout ?? 10_000),
    maxRoomsPerConnection: positive('maxRoomsPerConnection', options.maxRoomsPerConnection ?? 100),
    heartbeat,
    maxPayload,
    maxFrame: encryption === 'off' ? maxPayload : encryptedFrameLength(maxPayload),
    rateLimit:
      options.rateLimit === false
        ? false
        : {
            max: positive('rateLimit.max', options.rateLimit?.max ?? 100),
            windowMs: positive('rateLimit.windowMs', options.rateLimit?.windowMs ?? 1_000),
          },
    backpressure: {
      maxBufferedBytes: positive('backpressure.maxBufferedBytes', options.backpressure?.maxBufferedBytes ?? 1024 * 1024),
      policy: backpressurePolicy(options.backpressure?.policy),
      maxDropped: positiveCount('backpressure.maxDropped', options.backpressure?.maxDropped ?? 1_000),
    },
    presenceEvents: options.presenceEvents ?? false,
    history: historyResolver(options.history),
    encryption,
    encryptionBatchSize: positive('encryptionBatchSize', options.encryptionBatchSize ?? 256),
    encryptionIdentity: options.encryptionIdentity,
    compression: options.compression ?? false,
    closeGracePeriod: positive('closeGracePeriod', options.closeGracePeriod ?? 2_000),
    upgradeTimeout: positive('upgradeTimeout', options.upgradeTimeout ?? 10_000),
    nodeId: options.nodeId ?? randomUUID(),
    pusher: options.pusher === undefined ? undefined : resolvePusherOptions(options.pusher),
    metrics: resolveMetricsOptions(options.metrics),
    health: resolveHealthOptions(options.health),
  }
}
