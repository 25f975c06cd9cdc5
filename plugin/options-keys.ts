/**
 * Compile-time only: every option of each options interface has its line in the schema that
 * checks it, and the schema has no other. Adding an option to an interface without its schema
 * line (or the reverse) fails `npm run typecheck`, naming the keys that differ.
 */
import type { RedisAdapterOptions } from './adapter/redis/options.js'
import type { RedisAdapterOptionsSchema } from './adapter/redis/options.js'
import type { EmitterOptions } from './emitter.js'
import type { EmitterOptionsSchema } from './emitter-options.js'
import type { HeartbeatOptions } from './hub/hub.js'
import type { HistoryRule } from './hub/history-policy.js'
import type { Agree, KeysAgree } from './hub/option-schema.js'
import type { RateLimitOptions } from './hub/rate-window.js'
import type { RoomcastOptions } from './options.js'
import type { BackpressureSchema, HeartbeatSchema, HistoryRuleSchema, RateLimitSchema, RegisterOptions, RoomcastOptionsSchema } from './options-schema.js'
import type { PusherAppConfig } from './pusher/apps.js'
import type { CorsOptions } from './pusher/http/cors.js'
import type { PusherHttpOptions } from './pusher/http/options.js'
import type { PusherOptions } from './pusher/options.js'
import type {
  CorsSchema,
  PusherAppSchema,
  PusherHttpSchema,
  PusherOptionsSchema,
  RetryPolicySchema,
  WebhookConfigSchema,
  WebhookFilterSchema,
  WebhookOptionsSchema,
} from './pusher/options-schema.js'
import type { WebhookConfig, WebhookFilter } from './pusher/webhooks/config.js'
import type { RetryPolicy, WebhookOptions } from './pusher/webhooks/options.js'
import type { BackpressureOptions } from './ws/socket-sink.js'

/** @internal */
export type OptionSchemasAgree = [
  // Fastify's own register options (`prefix`, ...) are in the schema but not in RoomcastOptions.
  Agree<KeysAgree<Omit<typeof RoomcastOptionsSchema.properties, keyof typeof RegisterOptions>, RoomcastOptions>>,
  Agree<KeysAgree<typeof HeartbeatSchema.properties, HeartbeatOptions>>,
  Agree<KeysAgree<typeof RateLimitSchema.properties, RateLimitOptions>>,
  Agree<KeysAgree<typeof BackpressureSchema.properties, BackpressureOptions>>,
  Agree<KeysAgree<typeof HistoryRuleSchema.properties, HistoryRule>>,
  Agree<KeysAgree<typeof PusherOptionsSchema.properties, PusherOptions>>,
  // `roomPrefix` is in the schema only to be refused with its reason.
  Agree<KeysAgree<Omit<typeof PusherAppSchema.properties, 'roomPrefix'>, PusherAppConfig>>,
  Agree<KeysAgree<typeof WebhookConfigSchema.properties, WebhookConfig>>,
  Agree<KeysAgree<typeof WebhookFilterSchema.properties, WebhookFilter>>,
  Agree<KeysAgree<typeof PusherHttpSchema.properties, PusherHttpOptions>>,
  Agree<KeysAgree<typeof CorsSchema.properties, CorsOptions>>,
  Agree<KeysAgree<typeof WebhookOptionsSchema.properties, WebhookOptions>>,
  Agree<KeysAgree<typeof RetryPolicySchema.properties, RetryPolicy>>,
  Agree<KeysAgree<typeof RedisAdapterOptionsSchema.properties, RedisAdapterOptions>>,
  Agree<KeysAgree<typeof EmitterOptionsSchema.properties, EmitterOptions>>,
]
