/**
 * The schema of the plugin's options: one line per option of `RoomcastOptions`, checked when the
 * plugin registers (`resolveOptions`), so a typo or a wrong value fails at start-up with a coded
 * error naming the option, instead of being ignored or failing later.
 *
 * To add an option: declare it in `RoomcastOptions` (options.ts) and add its line to
 * `RoomcastOptionsSchema` below, from the blocks of `hub/option-schema.ts` (`delay()`,
 * `positiveInteger()`, `callback('(request) => ...')`, `withMethods([...], 'a ...')`, an
 * `optionsObject({...})` for nested options). The typecheck (`options-keys.ts`) fails until both have the same keys.
 */
import { Type } from '@sinclair/typebox'
import type { EventsDefinition } from '../shared/events.js'
import type { Adapter } from './hub/adapter.js'
import { MAX_HISTORY_SIZE } from './hub/history-policy.js'
import {
  anyObject,
  boolean,
  callback,
  delay,
  nonEmptyString,
  off,
  oneOf,
  optionsObject,
  positiveInteger,
  positiveNumber,
  refused,
  routePath,
  withMethods,
} from './hub/option-schema.js'
import { PusherOptionsSchema } from './pusher/options-schema.js'

/** What every adapter has: the in-process one, `redisAdapter(...)`, or an application's own. */
const ADAPTER_METHODS = ['attach', 'publish', 'query', 'watch', 'unwatch', 'trackPresence', 'close']

/** An adapter object, as the `adapter` option takes it and as a factory must return it. */
export const AdapterSchema = withMethods<Adapter>(ADAPTER_METHODS, 'an adapter object, e.g. redisAdapter({ redis })')

/** The application's events, as `defineEvents` makes them (their validators are what the server uses). */
export const EventsSchema = withMethods<EventsDefinition>(
  ['toServerValidator', 'toClientValidator'],
  'an events map made by defineEvents({ toServer, toClient })',
)

export const HistoryRuleSchema = optionsObject(
  {
    match: nonEmptyString('a non-empty room name, where * stands for any run of characters'),
    size: Type.Integer({ minimum: 1, maximum: MAX_HISTORY_SIZE, accepts: `an integer from 1 to ${MAX_HISTORY_SIZE}` }),
    ttl: positiveNumber('a positive number of ms'),
  },
  'a rule { match, size, ttl }',
)

/** The `history` option of the plugin and of the Emitter. */
export const HistoryOptionSchema = Type.Union(
  [Type.Array(HistoryRuleSchema, { accepts: 'a list of rules { match, size, ttl }' }), callback('(room) => ({ size, ttl }) | undefined')],
  { accepts: 'a list of rules { match, size, ttl } or a function (room) => ({ size, ttl }) | undefined' },
)

export const MetricsSchema = optionsObject(
  {
    registry: Type.Optional(
      withMethods(['registerMetric', 'metrics', 'getSingleMetric'], "a prom-client Registry, e.g. new Registry() or prom-client's register"),
    ),
    prefix: Type.Optional(Type.String({ pattern: '^([a-zA-Z_:][a-zA-Z0-9_:]*)?$', accepts: 'a metric name prefix matching [a-zA-Z_:][a-zA-Z0-9_:]*, or ""' })),
    route: Type.Optional(Type.Union([routePath('/metrics'), off()], { accepts: 'a route path starting with "/", e.g. "/metrics", or false' })),
    defaultMetrics: Type.Optional(boolean()),
  },
  'true, false or an object { registry, prefix, route, defaultMetrics }',
)

export const HealthSchema = optionsObject(
  {
    live: Type.Optional(routePath('/health/live')),
    ready: Type.Optional(routePath('/health/ready')),
  },
  'true, false or an object { live, ready }',
)

export const HeartbeatSchema = optionsObject(
  {
    interval: Type.Optional(delay()),
    timeout: Type.Optional(positiveNumber('a positive number of milliseconds')),
    mode: Type.Optional(oneOf(['event', 'ping'])),
  },
  'an object { interval, timeout, mode }',
)

export const RateLimitSchema = optionsObject(
  {
    max: Type.Optional(positiveInteger()),
    windowMs: Type.Optional(positiveNumber('a positive number of milliseconds')),
  },
  'an object { max, windowMs }',
)

export const BackpressureSchema = optionsObject(
  {
    maxBufferedBytes: Type.Optional(positiveInteger('a positive integer (bytes)')),
    policy: Type.Optional(oneOf(['drop', 'close'])),
    maxDropped: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Literal(Infinity)], { accepts: 'a positive integer or Infinity' })),
  },
  'an object { maxBufferedBytes, policy, maxDropped }',
)

/**
 * Options Fastify itself reads from `register`. `prefix` is honoured by roomcast (its routes are
 * mounted under it); the others cannot be: the plugin runs in the context it is registered in
 * (fastify-plugin), which is what lets `app.roomcast` be seen by the whole application.
 */
export const RegisterOptions = {
  prefix: Type.Optional(Type.String({ accepts: 'a path prefix, e.g. "/rt"' })),
  logLevel: Type.Optional(refused('is not supported: roomcast runs in the context it is registered in; register it inside a plugin that sets the logLevel')),
  logSerializers: Type.Optional(
    refused('is not supported: roomcast runs in the context it is registered in; register it inside a plugin that sets the logSerializers'),
  ),
}

export const RoomcastOptionsSchema = optionsObject(
  {
    ...RegisterOptions,
    events: Type.Optional(EventsSchema),
    path: Type.Optional(routePath('/ws')),
    authenticateRequest: Type.Optional(callback('(request) => identity | undefined | null | { refuse: true, statusCode }')),
    refuseUpgradeWith: Type.Optional(oneOf(['close', 'http'])),
    authenticate: Type.Optional(callback('(data, request) => identity | null')),
    authTimeout: Type.Optional(delay()),
    authorizeJoin: Type.Optional(callback('({ connection, rooms }) => rooms | true | false')),
    defaultRooms: Type.Optional(callback('(connection) => rooms')),
    hookTimeout: Type.Optional(delay()),
    maxRoomsPerConnection: Type.Optional(positiveInteger()),
    heartbeat: Type.Optional(HeartbeatSchema),
    maxPayload: Type.Optional(positiveInteger('a positive integer (bytes)')),
    rateLimit: Type.Optional(Type.Union([RateLimitSchema, off()], { accepts: 'an object { max, windowMs } or false' })),
    backpressure: Type.Optional(BackpressureSchema),
    adapter: Type.Optional(
      Type.Union([AdapterSchema, callback('')], { accepts: 'an adapter object, e.g. redisAdapter({ redis }), or a function that returns one' }),
    ),
    presenceEvents: Type.Optional(boolean()),
    history: Type.Optional(HistoryOptionSchema),
    encryption: Type.Optional(oneOf(['off', 'optional', 'required'])),
    encryptionBatchSize: Type.Optional(positiveInteger()),
    encryptionIdentity: Type.Optional(anyObject<JsonWebKey>('a private P-256 JSON Web Key, e.g. (await generateServerIdentity()).privateKey')),
    compression: Type.Optional(boolean()),
    closeGracePeriod: Type.Optional(delay()),
    upgradeTimeout: Type.Optional(delay()),
    nodeId: Type.Optional(nonEmptyString()),
    pusher: Type.Optional(PusherOptionsSchema),
    metrics: Type.Optional(Type.Union([boolean(), MetricsSchema], { accepts: 'true, false or an object { registry, prefix, route, defaultMetrics }' })),
    health: Type.Optional(Type.Union([boolean(), HealthSchema], { accepts: 'true, false or an object { live, ready }' })),
  },
  'an object of options',
)
