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
export { BroadcastOperator, DeliveryApi } from './hub/delivery-api.js'
export type { Delivery, Target } from './hub/delivery.js'
export type { Query, QueryResult, QueryResults, ClusterAnswer, RoomMember, NodeInfo } from './hub/queries.js'
export type { EventHandler } from './native/handlers.js'
export type { WireCodec, Closing } from './hub/codec.js'
export type { PusherOptions } from './pusher/options.js'
export { PusherService, dataJsonOf, type TriggerOptions, type ChannelInfo } from './pusher/service.js'
export { AppRegistry, type PusherApp, type PusherAppConfig, type PusherAppLookup } from './pusher/apps.js'
export { PusherCode } from './pusher/codes.js'
export {
  channelOfRoom,
  channelType,
  checkChannelName,
  isCacheChannel,
  isHiddenChannel,
  isClientEvent,
  isValidChannelName,
  requiresAuth,
  roomOf,
  userChannel,
  USER_CHANNEL_PREFIX,
  type ChannelType,
  type SubscriptionErrorData,
} from './pusher/channels.js'
export { SOCKET_ID } from './pusher/socket-id.js'
export { hmacSha256Hex, safeEqual, signChannel, signUser, signWebhook, verifyChannelAuth, verifyUserAuth } from './pusher/signatures.js'
export { MemoryChannelCache, RedisChannelCache, memoryChannelCache, redisChannelCache, type ChannelCache, type CachedEvent, type RedisChannelCacheOptions } from './pusher/cache.js'
export type { PusherEventMap, PusherEventName, ChannelEvent, MemberEvent, ClientEventInfo, PresenceUserId } from './pusher/events.js'
export type { PresenceMember } from './pusher/presence.js'
export type { PusherSession, SignedInUser } from './pusher/session.js'
export type { SubscriptionCountEvent } from './pusher/events.js'
export { SUBSCRIPTION_COUNT_EVENT } from './pusher/subscription-count.js'
export type { PusherHttpOptions } from './pusher/http/options.js'
export { PusherHttpError, PusherHttpStatus, type PusherHttpErrorBody } from './pusher/http/errors.js'
export { MemoryRateLimiter, type HttpRateLimiter, type RateDecision, type RateLimiterOptions } from './pusher/http/rate-limiter.js'
export { RedisRateLimiter, redisRateLimiter, type RedisRateLimiterOptions } from './pusher/http/redis-rate-limiter.js'
export { verifySignedRequest, stringToSign, TIMESTAMP_WINDOW_SECONDS, type SignedRequest } from './pusher/http/request-auth.js'
export { MISSING_NODES_HEADER } from './pusher/http/routes.js'
export type { CorsOptions } from './pusher/http/cors.js'
export { WEBHOOK_EVENT_TYPES, type WebhookConfig, type WebhookEventType, type WebhookFilter } from './pusher/webhooks/config.js'
export type { WebhookOptions, RetryPolicy } from './pusher/webhooks/options.js'
export type { WebhookEvent } from './pusher/webhooks/payload.js'
export { WebhookSender, type WebhookEndpointStats, type WebhookStats } from './pusher/webhooks/sender.js'
export type { Adapter, AdapterNode, AdapterOption, InterestKind } from './hub/adapter.js'
export { MemoryAdapter, memoryAdapter } from './adapter/memory.js'
export { RedisAdapter, redisAdapter } from './adapter/redis/adapter.js'
export type { RedisAdapterOptions } from './adapter/redis/options.js'
export type { RedisAdapterStats } from './adapter/redis/stats.js'
export type { RedisClient } from './adapter/redis/connection.js'
export { Emitter, type EmitterOptions, type EmitterStats } from './adapter/redis/emitter.js'
export type { BackpressureOptions, BackpressurePolicy } from './ws/socket-sink.js'
export { CloseCode, ErrorCode, RoomcastError, defineEvents, Type } from '../shared/index.js'
export { generateServerIdentity } from '../shared/e2e/identity.js'
