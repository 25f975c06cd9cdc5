// The `roomcast` package: what applications use. Each name is documented in the README
// (its "API reference" section lists them); internals stay importable only inside the package.
import roomcast from './plugin.js'

// The plugin, its options and app.roomcast
export default roomcast
export { roomcast }
export type { RoomcastTypes, RegisteredEvents, RegisteredUserId } from './types.js'
export type {
  RoomcastOptions,
  RoomcastBaseOptions,
  AuthenticationOptions,
  InBandAuthentication,
  RequestAuthentication,
  Authenticator,
  RequestAuthenticator,
  Refusal,
  JoinRequest,
  RateLimitOptions,
  UpgradeRefusalMode,
} from './options.js'
export { RoomcastServer } from './server.js'
export type { MetricsOptions, MetricsRegistry } from './metrics/options.js'
export type { HealthOptions } from './api/health-options.js'
export type { HealthReport, NotReadyReason } from './api/health.js'
export type { ConnectionsApi } from './api/connections.js'
export type { RoomsApi, RoomHistoryQuery } from './api/rooms.js'
export type { HistoryOption, HistoryRule } from './hub/history-policy.js'
export type { HistoryPolicy, HistoryStore, HistoryPage, HistoryRead, StoredPublication } from './hub/history.js'
export type { UsersApi } from './api/users.js'
export type { BroadcastOperator, DeliveryApi } from './hub/delivery-api.js'
export { Connection, type AuthenticatedConnection, type Identity, type ConnectionState } from './hub/connection.js'
export type { HookMap, HookName, DisconnectInfo, PresenceChange } from './hub/hooks.js'
export type { DrainOptions, HeartbeatOptions } from './hub/hub.js'
export { isProtocolName } from './hub/namespace.js'
export type { PublishOutcome } from './hub/publish-outcome.js'
export type { Query, QueryResult, QueryResults, ClusterAnswer, RoomMember, NodeInfo } from './hub/queries.js'
export type { EventHandler } from './native/handlers.js'
export type { BackpressureOptions, BackpressurePolicy } from './ws/socket-sink.js'

// Errors thrown at the application (registration, redisAdapter(), new Emitter(), the server API), each with a stable `code`
export {
  AdapterInUseError,
  AdapterNotAttachedError,
  AlreadyRegisteredError,
  HandlerExistsError,
  HistoryUnsupportedError,
  InvalidArgumentError,
  InvalidHookResultError,
  PusherNotEnabledError,
  PromClientMissingError,
  InvalidOptionError,
  UnknownHookError,
  UnknownOptionError,
  UnknownPusherAppError,
} from './hub/errors.js'

// Adapters and the standalone emitter
export type { Adapter, AdapterNode, AdapterOption, SharedStore } from './hub/adapter.js'
export { publishFailed } from './hub/publish-outcome.js'
export { MemoryAdapter, memoryAdapter } from './adapter/memory.js'
export { RedisAdapter, redisAdapter } from './adapter/redis/adapter.js'
export type { RedisAdapterOptions } from './adapter/redis/options.js'
export type { RedisAdapterStats } from './adapter/redis/stats.js'
export type { RedisClient } from './adapter/redis/client.js'
export { Emitter, type EmitterOptions, type EmitterStats } from './emitter.js'
export type { PusherEmitter } from './pusher/emitter.js'

// The Pusher protocol
export type { PusherOptions } from './pusher/options.js'
export type { PusherService, TriggerOptions, ChannelInfo } from './pusher/service.js'
export type { PusherApp, PusherAppConfig, PusherAppLookup } from './pusher/apps.js'
export { PusherCode } from './pusher/codes.js'
export { signChannel, signUser, signWebhook, type SigningKeys } from './pusher/signatures.js'
export {
  MemoryChannelCache,
  RedisChannelCache,
  memoryChannelCache,
  redisChannelCache,
  type ChannelCache,
  type CachedEvent,
  type MemoryChannelCacheOptions,
  type RedisChannelCacheOptions,
} from './pusher/cache.js'
export type { PusherEventMap, PusherEventName, ChannelEvent, MemberEvent, ClientEventInfo, PresenceUserId, SubscriptionCountEvent } from './pusher/events.js'
export type { PresenceMember } from './pusher/presence.js'
export type { SignedInUser } from './pusher/session.js'
export type { PusherHttpOptions } from './pusher/http/options.js'
export { MemoryRateLimiter, type HttpRateLimiter, type RateDecision, type RateLimiterOptions } from './pusher/http/rate-limiter.js'
export { RedisRateLimiter, redisRateLimiter, type RedisRateLimiterOptions } from './pusher/http/redis-rate-limiter.js'
export type { CorsOptions } from './pusher/http/cors.js'
export { WEBHOOK_EVENT_TYPES, type WebhookConfig, type WebhookEventType, type WebhookFilter } from './pusher/webhooks/config.js'
export type { WebhookOptions, RetryPolicy } from './pusher/webhooks/options.js'
export type { WebhookEvent } from './pusher/webhooks/payload.js'
export type { WebhookSender, WebhookEndpointStats, WebhookStats } from './pusher/webhooks/sender.js'

// Re-exported from roomcast/shared for convenience
export { CloseCode, ErrorCode, RoomcastError, defineEvents, Type } from '../shared/index.js'
export { generateServerIdentity } from '../shared/e2e/identity.js'
