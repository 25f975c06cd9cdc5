/**
 * The standalone server's configuration, as a config file holds it (and as environment
 * variables and flags are merged into it): one TypeBox schema, so that every key is documented
 * once, unknown keys are refused by name and types are checked before anything starts.
 */
import { type Static, Type } from '@sinclair/typebox'
import { WEBHOOK_EVENT_TYPES } from '../pusher/webhooks/config.js'

/** -1 (unlimited, as in soketi) or a non-negative number. */
const Limit = Type.Number({ minimum: -1 })
const Port = Type.Integer({ minimum: 0, maximum: 65_535 })
const RoutePath = Type.String({ pattern: '^/' })

/** Per-app limits; also the shape of `appDefaults`, which every app inherits. */
const AppLimits = {
  enabled: Type.Optional(Type.Boolean()),
  enableClientMessages: Type.Optional(Type.Boolean()),
  enableUserAuthentication: Type.Optional(Type.Boolean()),
  enableSubscriptionCount: Type.Optional(Type.Boolean()),
  maxConnections: Type.Optional(Limit),
  maxPresenceMembers: Type.Optional(Limit),
  maxPresenceMemberSizeKb: Type.Optional(Limit),
  maxClientEventsPerSecond: Type.Optional(Limit),
  maxEventPayloadKb: Type.Optional(Limit),
  maxEventNameLength: Type.Optional(Limit),
  maxChannelNameLength: Type.Optional(Limit),
  maxEventChannelsAtOnce: Type.Optional(Limit),
  maxEventBatchSize: Type.Optional(Limit),
  cacheTtl: Type.Optional(Limit),
  maxBackendEventsPerSecond: Type.Optional(Limit),
  maxReadRequestsPerSecond: Type.Optional(Limit),
}

const Webhook = Type.Object(
  {
    url: Type.String({ pattern: '^https?://' }),
    eventTypes: Type.Optional(Type.Array(Type.Union(WEBHOOK_EVENT_TYPES.map((type) => Type.Literal(type))))),
    filter: Type.Optional(
      Type.Object({ channelNamePrefix: Type.Optional(Type.String()), channelNameSuffix: Type.Optional(Type.String()) }, { additionalProperties: false }),
    ),
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  { additionalProperties: false },
)

const App = Type.Object(
  {
    id: Type.String({ minLength: 1 }),
    key: Type.String({ minLength: 1 }),
    secret: Type.String({ minLength: 1 }),
    ...AppLimits,
    webhooks: Type.Optional(Type.Array(Webhook)),
  },
  { additionalProperties: false },
)

export const ConfigSchema = Type.Object(
  {
    /** `pusher` (default) or `soketi`: soketi's default limits and webhook shapes. */
    compat: Type.Optional(Type.Union([Type.Literal('pusher'), Type.Literal('soketi')])),
    host: Type.Optional(Type.String({ minLength: 1 })),
    port: Type.Optional(Port),
    logLevel: Type.Optional(Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)))),
    tls: Type.Optional(
      Type.Object(
        {
          cert: Type.String({ minLength: 1 }),
          key: Type.String({ minLength: 1 }),
          passphrase: Type.Optional(Type.String()),
          ca: Type.Optional(Type.String({ minLength: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
    apps: Type.Optional(Type.Array(App, { minItems: 1 })),
    appDefaults: Type.Optional(Type.Object(AppLimits, { additionalProperties: false })),
    pathPrefix: Type.Optional(Type.String({ pattern: '^(/.*)?$' })),
    activityTimeout: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    userAuthenticationTimeout: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    maxChannelsPerConnection: Type.Optional(Type.Integer({ minimum: 1 })),
    http: Type.Optional(
      Type.Object({ enabled: Type.Optional(Type.Boolean()), bodyLimit: Type.Optional(Type.Integer({ minimum: 1 })) }, { additionalProperties: false }),
    ),
    cors: Type.Optional(
      Type.Union([
        Type.Literal(false),
        Type.Object(
          {
            origin: Type.Optional(Type.Union([Type.Literal('*'), Type.Array(Type.String({ minLength: 1 }))])),
            credentials: Type.Optional(Type.Boolean()),
            maxAge: Type.Optional(Type.Integer({ minimum: 0 })),
          },
          { additionalProperties: false },
        ),
      ]),
    ),
    webhooks: Type.Optional(
      Type.Object(
        {
          batchWindowMs: Type.Optional(Type.Number({ minimum: 0 })),
          maxBatchSize: Type.Optional(Type.Integer({ minimum: 1 })),
          requestTimeoutMs: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
          closeTimeoutMs: Type.Optional(Type.Number({ minimum: 0 })),
          maxQueuedEvents: Type.Optional(Type.Integer({ minimum: 1 })),
          maxQueuedEventsPerEndpoint: Type.Optional(Type.Integer({ minimum: 1 })),
          clientEventData: Type.Optional(Type.Union([Type.Literal('string'), Type.Literal('as-sent')])),
        },
        { additionalProperties: false },
      ),
    ),
    redis: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(Type.Boolean()),
          url: Type.Optional(Type.String({ pattern: '^rediss?://' })),
          host: Type.Optional(Type.String({ minLength: 1 })),
          port: Type.Optional(Port),
          username: Type.Optional(Type.String()),
          password: Type.Optional(Type.String()),
          db: Type.Optional(Type.Integer({ minimum: 0 })),
          keyPrefix: Type.Optional(Type.String({ minLength: 1 })),
          requestTimeout: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
        },
        { additionalProperties: false },
      ),
    ),
    metrics: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(Type.Boolean()),
          port: Type.Optional(Port),
          host: Type.Optional(Type.String({ minLength: 1 })),
          prefix: Type.Optional(Type.String({ pattern: '^([a-zA-Z_:][a-zA-Z0-9_:]*)?$' })),
          path: Type.Optional(RoutePath),
          defaultMetrics: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
    ),
    health: Type.Optional(Type.Boolean()),
    shutdownGracePeriod: Type.Optional(Type.Number({ minimum: 0 })),
    native: Type.Optional(
      Type.Object(
        {
          path: Type.Optional(RoutePath),
          authEndpoint: Type.String({ pattern: '^https?://' }),
          requestTimeout: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
          forwardHeaders: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
)

export type Config = Static<typeof ConfigSchema>
export type AppConfig = Static<typeof App>
export type WebhookEntry = Static<typeof Webhook>
