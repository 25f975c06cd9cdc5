import { randomUUID } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { encryptedFrameLength } from '../shared/e2e/index.js'
import type { EventsDefinition } from '../shared/events.js'
import type { AdapterOption } from './hub/adapter.js'
import type { AuthenticatedConnection, Identity } from './hub/connection.js'
import type { EncryptionMode } from './native/encryption.js'
import type { Authenticator, JoinRequest, NativeOptions, Refusal, RequestAuthenticator, UpgradeRefusalMode } from './native/options.js'
import type { RegisteredEvents, RegisteredUserId } from './types.js'
import type { RateLimitOptions } from './hub/rate-window.js'
import type { HeartbeatOptions } from './hub/hub.js'
import { historyResolver, type HistoryOption, type HistoryResolver } from './hub/history-policy.js'
import { checkOptions, invalidOption } from './hub/option-check.js'
import { RoomcastOptionsSchema } from './options-schema.js'
import { resolvePusherOptions, type PusherOptions, type ResolvedPusherOptions } from './pusher/options.js'
import type { BackpressureOptions } from './ws/socket-sink.js'
import { resolveMetricsOptions, type MetricsOptions, type ResolvedMetricsOptions } from './metrics/options.js'
import { resolveHealthOptions, type HealthOptions, type ResolvedHealthOptions } from './api/health-options.js'

export type { Refusal, JoinRequest, Authenticator, RequestAuthenticator, UpgradeRefusalMode } from './native/options.js'
export type { RateLimitOptions } from './hub/rate-window.js'

/**
 * The plugin's options. Both type parameters default to what the application declared in
 * `RoomcastTypes` (its events, and the type of its users' ids), so neither the options object
 * nor `app.register(roomcast, options)` ever needs them spelt out.
 */
export type RoomcastOptions<E extends EventsDefinition = RegisteredEvents, U extends string | undefined = RegisteredUserId> = RoomcastBaseOptions<E, U> &
  AuthenticationOptions<E, U>

/**
 * How connections are authenticated. When `U` admits `undefined` (connections may be
 * anonymous), both hooks are optional. When it does not (`RoomcastTypes` declares `userId`),
 * every connection must end up with a user: `authenticate` is required, unless
 * `authenticateRequest` decides every upgrade on its own (it may not defer by returning
 * `undefined` then).
 */
export type AuthenticationOptions<E extends EventsDefinition, U extends string | undefined> = undefined extends U
  ? Partial<InBandAuthentication<E, U>>
  : InBandAuthentication<E, U> | RequestAuthentication<U>

/** Authentication in-band: the client's `authenticate` message, after the upgrade (and `authenticateRequest` may come first). */
export interface InBandAuthentication<E extends EventsDefinition, U extends string | undefined> {
  /**
   * Runs before the upgrade. Return the identity to accept the connection as authenticated,
   * `undefined` to defer to in-band `authenticate`, or `null` / a `Refusal` to refuse it (see
   * `refuseUpgradeWith`).
   */
  authenticateRequest?: RequestAuthenticator<U>
  /**
   * In-band authentication: the client's `authenticate` data (typed, and checked, by the
   * events' `auth` schema when there is one) → identity, or null to refuse (close 4003).
   */
  authenticate: Authenticator<E, U>
}

/** Authentication of the upgrade request alone: every request gets an identity or a refusal. */
export interface RequestAuthentication<U extends string | undefined> {
  /** Runs before the upgrade: the identity to accept the connection with, or `null` / a `Refusal` for an HTTP error. */
  authenticateRequest: (request: FastifyRequest) => Identity<U> | null | Refusal | Promise<Identity<U> | null | Refusal>
  authenticate?: undefined
}

/** Every option but the authentication hooks (`AuthenticationOptions`). */
export interface RoomcastBaseOptions<E extends EventsDefinition = RegisteredEvents, U extends string | undefined = RegisteredUserId> {
  /** The application's events (`defineEvents`). Without it any event name is accepted, unvalidated. */
  events?: E
  /** WebSocket route of the native protocol. Default `/ws`. */
  path?: string
  /**
   * How a 401 or 403 refusal of `authenticateRequest` is answered. `close` (default): the upgrade
   * completes and the socket is closed at once with 4003 and the reason `auth_refused:<status>
   * <message>`, so that browsers, which see only 1006 for a refused upgrade, learn why and stop.
   * `http`: the HTTP status with a JSON body, never a socket. Other statuses, and plain HTTP
   * requests to the route, are always answered over HTTP.
   */
  refuseUpgradeWith?: UpgradeRefusalMode
  /** Time allowed for in-band authentication before closing with 4001, in ms. Default 5000. */
  authTimeout?: number
  /** Which of the requested rooms a client may join: a subset, `true` for all, `false` for none. Default: all. */
  authorizeJoin?: (request: JoinRequest<E, U>) => string[] | boolean | Promise<string[] | boolean>
  /** Rooms a connection joins as soon as it is authenticated. */
  defaultRooms?: (connection: AuthenticatedConnection<E, U>) => string[] | Promise<string[]>
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
   * Client-to-server encryption of each native connection's frames, on top of TLS (ECDH P-256 →
   * HKDF-SHA256 → AES-256-GCM, see the README): what sits between a client and this server
   * (TLS-terminating proxies, load balancers, CDNs) sees only sealed frames. It is not end-to-end:
   * this server decrypts, reads and re-encrypts every message for each recipient, messages
   * cross Redis between nodes in plaintext, and Pusher protocol connections are not covered.
   * `optional`: clients may encrypt; `required`: a client that does not complete the key
   * exchange within `authTimeout` is closed with 4010. Default `off`.
   */
  encryption?: EncryptionMode
  /** Encryptions started per event-loop turn during fan-out to encrypted members. Default 256. */
  encryptionBatchSize?: number
  /**
   * The server's long-term identity (the private JWK from `generateServerIdentity()`): every key
   * exchange is signed with it, so clients that pin its public key
   * (`clientEncryption({ serverIdentity })`) detect a middlebox that rewrites the handshake.
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
  upgradeTimeout: number
  nodeId: string
  pusher: ResolvedPusherOptions | undefined
  metrics: ResolvedMetricsOptions | undefined
  health: ResolvedHealthOptions | undefined
}

/** Fastify's `prefix`, as Fastify would join it to a route: a leading "/", no trailing one; "" for none. */
function mountPrefix(prefix: string | undefined): string {
  if (prefix === undefined || prefix === '' || prefix === '/') return ''
  return (prefix.startsWith('/') ? prefix : `/${prefix}`).replace(/\/+$/, '')
}

/**
 * Checks the options against their schema (`options-schema.ts`; the first problem throws a coded
 * error naming the option), then the rules between options, and fills in the defaults.
 * `prefix` (Fastify's register option) is folded into every route path.
 */
// Typed for any identity: what a declared `RoomcastTypes.userId` promises is held to by the options' types.
export function resolveOptions<E extends EventsDefinition>(options: RoomcastOptions<E, string | undefined>): ResolvedOptions<E> {
  checkOptions(RoomcastOptionsSchema, options)
  const prefix = mountPrefix((options as { prefix?: string }).prefix)
  const heartbeat: HeartbeatOptions = {
    interval: options.heartbeat?.interval ?? 30_000,
    timeout: options.heartbeat?.timeout ?? 90_000,
    mode: options.heartbeat?.mode ?? 'event',
  }
  if (heartbeat.timeout < heartbeat.interval) {
    invalidOption(`heartbeat.timeout (${heartbeat.timeout}) must not be shorter than heartbeat.interval (${heartbeat.interval})`)
  }
  const maxPayload = options.maxPayload ?? 128 * 1024
  const encryption = options.encryption ?? 'off'
  return {
    events: options.events,
    path: prefix + (options.path ?? '/ws'),
    authenticateRequest: options.authenticateRequest,
    refuseUpgradeWith: options.refuseUpgradeWith ?? 'close',
    authenticate: options.authenticate,
    authTimeout: options.authTimeout ?? 5_000,
    authorizeJoin: options.authorizeJoin,
    defaultRooms: options.defaultRooms,
    hookTimeout: options.hookTimeout ?? 10_000,
    maxRoomsPerConnection: options.maxRoomsPerConnection ?? 100,
    heartbeat,
    maxPayload,
    maxFrame: encryption === 'off' ? maxPayload : encryptedFrameLength(maxPayload),
    rateLimit: options.rateLimit === false ? false : { max: options.rateLimit?.max ?? 100, windowMs: options.rateLimit?.windowMs ?? 1_000 },
    backpressure: {
      maxBufferedBytes: options.backpressure?.maxBufferedBytes ?? 1024 * 1024,
      policy: options.backpressure?.policy ?? 'drop',
      maxDropped: options.backpressure?.maxDropped ?? 1_000,
    },
    presenceEvents: options.presenceEvents ?? false,
    history: historyResolver(options.history),
    encryption,
    encryptionBatchSize: options.encryptionBatchSize ?? 256,
    encryptionIdentity: options.encryptionIdentity,
    compression: options.compression ?? false,
    closeGracePeriod: options.closeGracePeriod ?? 2_000,
    upgradeTimeout: options.upgradeTimeout ?? 10_000,
    nodeId: options.nodeId ?? randomUUID(),
    pusher: options.pusher === undefined ? undefined : resolvePusherOptions(options.pusher, prefix),
    metrics: resolveMetricsOptions(options.metrics, prefix),
    health: resolveHealthOptions(options.health, prefix),
  }
}
