/**
 * The schema of the plugin's `pusher` option: every key of `PusherOptions` and of what it holds
 * (apps, webhook endpoints, the HTTP API, CORS, webhook delivery), checked at registration by
 * `checkOptions`. To add an option, add its line here as well as in its interface; the key
 * checks of `options-keys.ts` fail the typecheck until both agree.
 */
import { Type } from '@sinclair/typebox'
import {
  atLeast,
  boolean,
  callback,
  delay,
  httpUrl,
  nonEmptyString,
  off,
  oneOf,
  optionsObject,
  positiveInteger,
  positiveNumber,
  refused,
  routePath,
  withMethods,
} from '../hub/option-schema.js'
import type { PusherAppLookup } from './apps.js'
import type { ChannelCache } from './cache.js'
import type { HttpRateLimiter } from './http/rate-limiter.js'
import { WEBHOOK_EVENT_TYPES } from './webhooks/config.js'

/** An app limit: a number, where anything below zero means unlimited (as in soketi's app records). */
const limit = () => Type.Number({ accepts: 'a number (below zero: unlimited)' })

export const WebhookFilterSchema = optionsObject(
  {
    channelNamePrefix: Type.Optional(Type.String({ accepts: 'a string' })),
    channelNameSuffix: Type.Optional(Type.String({ accepts: 'a string' })),
  },
  'an object { channelNamePrefix, channelNameSuffix }',
)

export const WebhookConfigSchema = optionsObject(
  {
    url: httpUrl(),
    eventTypes: Type.Optional(Type.Array(oneOf(WEBHOOK_EVENT_TYPES), { accepts: `a list of webhook event types (${WEBHOOK_EVENT_TYPES.join(', ')})` })),
    filter: Type.Optional(WebhookFilterSchema),
    // Names and values are checked as fetch would send them, after the schema (`checkWebhooks`).
    headers: Type.Optional(Type.Record(Type.String(), Type.String({ accepts: 'a string' }), { accepts: 'an object of header names to string values' })),
  },
  'an object { url, eventTypes, filter, headers }',
)

export const PusherAppSchema = optionsObject(
  {
    id: nonEmptyString(),
    key: nonEmptyString(),
    secret: nonEmptyString(),
    enabled: Type.Optional(boolean()),
    enableClientMessages: Type.Optional(boolean()),
    enableUserAuthentication: Type.Optional(boolean()),
    maxConnections: Type.Optional(limit()),
    maxPresenceMembers: Type.Optional(limit()),
    maxPresenceMemberSizeKb: Type.Optional(limit()),
    maxClientEventsPerSecond: Type.Optional(limit()),
    maxEventPayloadKb: Type.Optional(limit()),
    maxEventNameLength: Type.Optional(limit()),
    maxChannelNameLength: Type.Optional(limit()),
    maxEventChannelsAtOnce: Type.Optional(limit()),
    maxEventBatchSize: Type.Optional(limit()),
    cacheTtl: Type.Optional(limit()),
    webhooks: Type.Optional(Type.Array(WebhookConfigSchema, { accepts: 'a list of webhook endpoints { url, eventTypes, filter, headers }' })),
    enableSubscriptionCount: Type.Optional(boolean()),
    maxBackendEventsPerSecond: Type.Optional(limit()),
    maxReadRequestsPerSecond: Type.Optional(limit()),
    // It could make a channel the native room of the same name, and so bypass native authorization.
    roomPrefix: Type.Optional(refused("is not supported: channels always live in Pusher's own namespace (app.roomcast.pusher reaches them)")),
  },
  'an app { id, key, secret, ... }',
)

export const CorsSchema = optionsObject(
  {
    origin: Type.Optional(
      Type.Union(
        [Type.Literal('*'), Type.Array(Type.String({ accepts: 'an origin' }), { accepts: 'a list of origins' }), callback<(origin: string) => boolean>('')],
        {
          accepts: "'*', a list of origins or a function (origin) => boolean",
        },
      ),
    ),
    allowedHeaders: Type.Optional(Type.Array(Type.String({ accepts: 'a header name' }), { accepts: 'a list of header names' })),
    maxAge: Type.Optional(Type.Number({ minimum: 0, accepts: 'a number of seconds, at least 0' })),
    credentials: Type.Optional(boolean()),
  },
  'an object { origin, allowedHeaders, maxAge, credentials }',
)

export const PusherHttpSchema = optionsObject(
  {
    bodyLimit: Type.Optional(positiveInteger('a positive integer (bytes)')),
    cors: Type.Optional(Type.Union([CorsSchema, off()], { accepts: 'CORS options { origin, allowedHeaders, maxAge, credentials } or false' })),
    healthPath: Type.Optional(Type.Union([routePath('/health'), off()], { accepts: 'a path starting with "/" or false' })),
    rateLimiter: Type.Optional(withMethods<HttpRateLimiter>(['consume'], 'a rate limiter, e.g. redisRateLimiter({ redis }) or new MemoryRateLimiter()')),
  },
  'HTTP API options { bodyLimit, cors, healthPath, rateLimiter }',
)

export const RetryPolicySchema = optionsObject(
  {
    maxAttempts: Type.Optional(positiveInteger()),
    initialDelayMs: Type.Optional(atLeast(0, ' ms')),
    maxDelayMs: Type.Optional(atLeast(0, ' ms')),
    maxElapsedMs: Type.Optional(atLeast(0, ' ms')),
  },
  'an object { maxAttempts, initialDelayMs, maxDelayMs, maxElapsedMs }',
)

export const WebhookOptionsSchema = optionsObject(
  {
    batchWindowMs: Type.Optional(atLeast(0, ' ms')),
    maxBatchSize: Type.Optional(positiveInteger()),
    maxQueuedEventsPerEndpoint: Type.Optional(positiveInteger()),
    maxQueuedEvents: Type.Optional(positiveInteger()),
    requestTimeoutMs: Type.Optional(delay()),
    retry: Type.Optional(RetryPolicySchema),
    closeTimeoutMs: Type.Optional(atLeast(0, ' ms')),
    clientEventData: Type.Optional(oneOf(['string', 'as-sent'])),
  },
  'webhook delivery options { batchWindowMs, maxBatchSize, ... } or false',
)

export const PusherOptionsSchema = optionsObject(
  {
    apps: Type.Union(
      [
        Type.Array(PusherAppSchema, { accepts: 'a list of apps { id, key, secret, ... }' }),
        withMethods<PusherAppLookup>(['byKey', 'byId'], 'a lookup { byKey, byId }'),
      ],
      { accepts: 'a list of apps { id, key, secret, ... } or a lookup { byKey(key), byId(id) }' },
    ),
    pathPrefix: Type.Optional(Type.Union([Type.Literal(''), routePath('/pusher')], { accepts: 'empty or a path starting with "/", e.g. "/pusher"' })),
    activityTimeout: Type.Optional(positiveNumber('a positive number of seconds')),
    userAuthenticationTimeout: Type.Optional(delay()),
    maxChannelsPerConnection: Type.Optional(positiveInteger()),
    cache: Type.Optional(withMethods<ChannelCache>(['get', 'set'], 'a channel cache, e.g. redisChannelCache({ redis }) or memoryChannelCache()')),
    http: Type.Optional(Type.Union([PusherHttpSchema, off()], { accepts: 'HTTP API options { bodyLimit, cors, healthPath, rateLimiter } or false' })),
    webhooks: Type.Optional(Type.Union([WebhookOptionsSchema, off()], { accepts: 'webhook delivery options { batchWindowMs, maxBatchSize, ... } or false' })),
    subscriptionCountInterval: Type.Optional(delay()),
  },
  'an object { apps, pathPrefix, ... }',
)
