import roomcast from './plugin.js'

export default roomcast
export { roomcast }
export type { RoomcastTypes, RegisteredEvents } from './plugin.js'
export type { RoomcastOptions, Refusal, JoinRequest, RateLimitOptions } from './options.js'
export { RoomcastServer } from './server.js'
export type { ConnectionsApi } from './api/connections.js'
export type { RoomsApi } from './api/rooms.js'
export type { UsersApi } from './api/users.js'
export { Connection, type Identity, type ConnectionState } from './hub/connection.js'
export type { HookMap, HookName, DisconnectInfo, PresenceChange } from './hub/hooks.js'
export type { DrainOptions, HeartbeatOptions } from './hub/hub.js'
export { BroadcastOperator, DeliveryApi } from './hub/operator.js'
export { NATIVE_PROTOCOL, isProtocolName } from './hub/namespace.js'
export type { Delivery, Target } from './hub/delivery.js'
export type { Query, QueryResult, QueryResults, ClusterAnswer, RoomMember, NodeInfo } from './hub/queries.js'
export type { EventHandler } from './protocol/native/handlers.js'
export type { WireCodec, Closing } from './protocol/codec.js'
export type { PusherOptions } from './protocol/pusher/options.js'
export { PusherService, dataJsonOf, type TriggerOptions, type ChannelInfo } from './protocol/pusher/service.js'
export { AppRegistry, type PusherApp, type PusherAppConfig, type PusherAppLookup } from './protocol/pusher/apps.js'
export { PusherCode } from './protocol/pusher/codes.js'
export {
  appRoomPrefix,
  channelOfRoom,
  channelType,
  checkChannelName,
  isCacheChannel,
  isHiddenChannel,
  isClientEvent,
  isValidChannelName,
  parsePusherRoom,
  requiresAuth,
  roomOf,
  userChannel,
  USER_CHANNEL_PREFIX,
  type ChannelType,
  type SubscriptionErrorData,
} from './protocol/pusher/channels.js'
export { SOCKET_ID } from './protocol/pusher/socket-id.js'
export { PusherEmitter } from './protocol/pusher/emitter.js'
export { hmacSha256Hex, safeEqual, signChannel, signUser, signWebhook, verifyChannelAuth, verifyUserAuth } from './protocol/pusher/signatures.js'
export { MemoryChannelCache, RedisChannelCache, memoryChannelCache, redisChannelCache, type ChannelCache, type CachedEvent, type MemoryChannelCacheOptions, type RedisChannelCacheOptions } from './protocol/pusher/cache.js'
export type { PusherEventMap, PusherEventName, ChannelEvent, MemberEvent, ClientEventInfo, PresenceUserId } from './protocol/pusher/events.js'
export type { PresenceMember } from './protocol/pusher/presence.js'
export type { PusherSession, SignedInUser } from './protocol/pusher/session.js'
export type { SubscriptionCountEvent } from './protocol/pusher/events.js'
export { SUBSCRIPTION_COUNT_EVENT } from './protocol/pusher/subscription-count.js'
export type { PusherHttpOptions } from './protocol/pusher/http/options.js'
export { PusherHttpError, PusherHttpStatus, type PusherHttpErrorBody } from './protocol/pusher/http/errors.js'
export { MemoryRateLimiter, type HttpRateLimiter, type RateDecision, type RateLimiterOptions } from './protocol/pusher/http/rate-limiter.js'
export { RedisRateLimiter, redisRateLimiter, type RedisRateLimiterOptions } from './protocol/pusher/http/redis-rate-limiter.js'
export { verifySignedRequest, stringToSign, TIMESTAMP_WINDOW_SECONDS, type SignedRequest } from './protocol/pusher/http/request-auth.js'
export { MISSING_NODES_HEADER } from './transport/pusher-http/routes.js'
export type { CorsOptions } from './transport/pusher-http/cors.js'
export { WEBHOOK_EVENT_TYPES, type WebhookConfig, type WebhookEventType, type WebhookFilter } from './protocol/pusher/webhooks/config.js'
export type { WebhookOptions, RetryPolicy } from './protocol/pusher/webhooks/options.js'
export type { WebhookEvent } from './protocol/pusher/webhooks/payload.js'
export { WebhookSender, type WebhookEndpointStats, type WebhookStats } from './protocol/pusher/webhooks/sender.js'
export type { Adapter, AdapterNode, AdapterOption, InterestKind } from './adapter/adapter.js'
export { PUBLISHED, publishFailed, type PublishOutcome } from './hub/publish-outcome.js'
export { MemoryAdapter, memoryAdapter } from './adapter/memory.js'
export { RedisAdapter, redisAdapter } from './adapter/redis/adapter.js'
export type { RedisAdapterOptions } from './adapter/redis/options.js'
export type { RedisAdapterStats } from './adapter/redis/stats.js'
export type { RedisClient } from './adapter/redis/connection.js'
export { Emitter, type EmitterOptions, type EmitterStats } from './emitter.js'
export type { BackpressureOptions, BackpressurePolicy } from './transport/socket-writer.js'
export { CloseCode, ErrorCode, RoomcastError, defineEvents, Type } from '../shared/index.js'
export { generateServerIdentity } from '../shared/e2e/identity.js'
