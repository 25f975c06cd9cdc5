// A value of the wrong type, or out of range, fails the registration with ROOMCAST_INVALID_OPTION,
// naming the option, what it accepts and what it got; so do the rules between options.
import t from 'tap'
import { HistoryUnsupportedError, InvalidOptionError, memoryAdapter, redisAdapter, type Adapter } from '../../plugin/index.js'
import { Kind, type TSchema } from '@sinclair/typebox'
import { acceptsOf } from '../../plugin/hub/option-schema.js'
import { EmitterOptionsSchema } from '../../plugin/emitter-options.js'
import { RedisAdapterOptionsSchema } from '../../plugin/adapter/redis/options.js'
import { RoomcastOptionsSchema } from '../../plugin/options-schema.js'
import { APP, registrationError } from './support.js'

const adapter = memoryAdapter()

/** One or more options of every kind: numbers, delays, counts, choices, functions, objects known by their methods, unions, nested lists. */
const wrong: Array<[options: unknown, message: string]> = [
  [{ adapter: 'redis' }, 'roomcast: adapter must be an adapter object, e.g. redisAdapter({ redis }), or a function that returns one (got the string "redis")'],
  [{ adapter: { publish() {} } }, 'roomcast: adapter must be an adapter object, e.g. redisAdapter({ redis }), or a function that returns one (got an object)'],
  [{ adapter: () => 'redis' }, 'roomcast: adapter() must be an adapter object, e.g. redisAdapter({ redis }) (got the string "redis")'],
  [{ heartbeat: { interval: -1 } }, 'roomcast: heartbeat.interval must be a positive number of milliseconds, at most 2147483647 (got -1)'],
  [{ heartbeat: { mode: 'pong' } }, "roomcast: heartbeat.mode must be 'event' or 'ping' (got the string \"pong\")"],
  [{ authTimeout: 2 ** 31 }, 'roomcast: authTimeout must be a positive number of milliseconds, at most 2147483647 (got 2147483648)'],
  [{ closeGracePeriod: Number.NaN }, 'roomcast: closeGracePeriod must be a positive number of milliseconds, at most 2147483647 (got NaN)'],
  [{ maxRoomsPerConnection: 1.5 }, 'roomcast: maxRoomsPerConnection must be a positive integer (got 1.5)'],
  [{ maxPayload: '1mb' }, 'roomcast: maxPayload must be a positive integer (bytes) (got the string "1mb")'],
  [{ encryptionBatchSize: 0 }, 'roomcast: encryptionBatchSize must be a positive integer (got 0)'],
  [{ path: 'ws' }, 'roomcast: path must be a path starting with "/", e.g. "/ws" (got the string "ws")'],
  [{ nodeId: '' }, 'roomcast: nodeId must be a non-empty string (got the string "")'],
  [{ presenceEvents: 'yes' }, 'roomcast: presenceEvents must be true or false (got the string "yes")'],
  [{ compression: 1 }, 'roomcast: compression must be true or false (got 1)'],
  [{ encryption: true }, "roomcast: encryption must be 'off', 'optional' or 'required' (got true)"],
  [
    { encryptionIdentity: 'key' },
    'roomcast: encryptionIdentity must be a private P-256 JSON Web Key, e.g. (await generateServerIdentity()).privateKey (got the string "key")',
  ],
  [{ authenticate: {} }, 'roomcast: authenticate must be a function (data, request) => identity | null (got an object)'],
  [
    { authenticateRequest: 'token' },
    'roomcast: authenticateRequest must be a function (request) => identity | undefined | null | { refuse: true, statusCode } (got the string "token")',
  ],
  [{ authorizeJoin: true }, 'roomcast: authorizeJoin must be a function ({ connection, rooms }) => rooms | true | false (got true)'],
  [{ defaultRooms: ['lobby'] }, 'roomcast: defaultRooms must be a function (connection) => rooms (got an array)'],
  [{ events: { toServer: {}, toClient: {} } }, 'roomcast: events must be an events map made by defineEvents({ toServer, toClient }) (got an object)'],
  [{ rateLimit: true }, 'roomcast: rateLimit must be an object { max, windowMs } or false (got true)'],
  [{ rateLimit: { max: 0 } }, 'roomcast: rateLimit.max must be a positive integer (got 0)'],
  [{ backpressure: { policy: 'block' } }, "roomcast: backpressure.policy must be 'drop' or 'close' (got the string \"block\")"],
  [{ backpressure: { maxDropped: -1 } }, 'roomcast: backpressure.maxDropped must be a positive integer or Infinity (got -1)'],
  [
    { history: 'chat:*' },
    'roomcast: history must be a list of rules { match, size, ttl } or a function (room) => ({ size, ttl }) | undefined (got the string "chat:*")',
  ],
  [
    { history: [{ match: '', size: 1, ttl: 1 }] },
    'roomcast: history[0].match must be a non-empty room name, where * stands for any run of characters (got the string "")',
  ],
  [{ history: [{ match: 'a', size: 10_001, ttl: 1 }] }, 'roomcast: history[0].size must be an integer from 1 to 10000 (got 10001)'],
  [{ history: [{ match: 'a', size: 1 }] }, 'roomcast: history[0].ttl is required: a positive number of ms'],
  [{ pusher: {} }, 'roomcast: pusher.apps is required: a list of apps { id, key, secret, ... } or a lookup { byKey(key), byId(id) }'],
  [
    { pusher: { apps: { byKey() {} } } },
    'roomcast: pusher.apps must be a list of apps { id, key, secret, ... } or a lookup { byKey(key), byId(id) } (got an object)',
  ],
  [{ pusher: { apps: [{ ...APP, key: '' }] } }, 'roomcast: pusher.apps[0].key must be a non-empty string (got the string "")'],
  [
    { pusher: { apps: [{ ...APP, enableClientMessages: 'true' }] } },
    'roomcast: pusher.apps[0].enableClientMessages must be true or false (got the string "true")',
  ],
  [
    { pusher: { apps: [{ ...APP, maxConnections: '10' }] } },
    'roomcast: pusher.apps[0].maxConnections must be a number (below zero: unlimited) (got the string "10")',
  ],
  [
    { pusher: { apps: [{ ...APP, roomPrefix: '' }] } },
    "roomcast: pusher.apps[0].roomPrefix is not supported: channels always live in Pusher's own namespace (app.roomcast.pusher reaches them)",
  ],
  [
    { pusher: { apps: [{ ...APP, webhooks: [{ url: 'mailto:a@b' }] }] } },
    'roomcast: pusher.apps[0].webhooks[0].url must be an http(s) URL (got the string "mailto:a@b")',
  ],
  [
    { pusher: { apps: [APP], pathPrefix: 'pusher' } },
    'roomcast: pusher.pathPrefix must be empty or a path starting with "/", e.g. "/pusher" (got the string "pusher")',
  ],
  [{ pusher: { apps: [APP], activityTimeout: 0 } }, 'roomcast: pusher.activityTimeout must be a positive number of seconds (got 0)'],
  [
    { pusher: { apps: [APP], cache: new Set() } },
    'roomcast: pusher.cache must be a channel cache, e.g. redisChannelCache({ redis }) or memoryChannelCache() (got a Set)',
  ],
  [
    { pusher: { apps: [APP], http: { healthPath: 'health' } } },
    'roomcast: pusher.http.healthPath must be a path starting with "/" or false (got the string "health")',
  ],
  [
    { pusher: { apps: [APP], http: { rateLimiter: {} } } },
    'roomcast: pusher.http.rateLimiter must be a rate limiter, e.g. redisRateLimiter({ redis }) or new MemoryRateLimiter() (got an object)',
  ],
  [{ pusher: { apps: [APP], webhooks: { batchWindowMs: -5 } } }, 'roomcast: pusher.webhooks.batchWindowMs must be a number of at least 0 ms (got -5)'],
  [
    { pusher: { apps: [APP], webhooks: true } },
    'roomcast: pusher.webhooks must be webhook delivery options { batchWindowMs, maxBatchSize, ... } or false (got true)',
  ],
  [
    { logLevel: 'debug' },
    'roomcast: logLevel is not supported: roomcast runs in the context it is registered in; register it inside a plugin that sets the logLevel',
  ],
]

t.test('a wrong value is named with what the option accepts and what it got', async (t) => {
  for (const [options, message] of wrong) {
    const error = await registrationError(t, options)
    t.ok(error instanceof InvalidOptionError, message)
    t.equal(error?.code, 'ROOMCAST_INVALID_OPTION', message)
    t.equal(error?.message, message)
  }
})

t.test('rules between options use the same codes', async (t) => {
  const heartbeat = await registrationError(t, { heartbeat: { interval: 1000, timeout: 500 } })
  t.match(heartbeat, { code: 'ROOMCAST_INVALID_OPTION', message: 'roomcast: heartbeat.timeout (500) must not be shorter than heartbeat.interval (1000)' })

  const bare: Adapter = { ...adapterMethods(adapter), history: undefined }
  const history = await registrationError(t, { adapter: bare, history: [{ match: '*', size: 1, ttl: 1 }] })
  t.ok(history instanceof HistoryUnsupportedError)
  t.match(history, { code: 'ROOMCAST_HISTORY_UNSUPPORTED', message: /history option needs an adapter with a history store/ })

  const identity = await registrationError(t, { encryption: 'required', encryptionIdentity: { kty: 'EC', crv: 'P-256', d: 'nope' } })
  t.match(identity, { code: 'ROOMCAST_INVALID_OPTION', message: /^roomcast: encryptionIdentity is not an ECDSA P-256 private key/ })

  const twice = await registrationError(t, { pusher: { apps: [APP, { ...APP, id: 'other' }] } })
  t.match(twice, { code: 'ROOMCAST_INVALID_OPTION', message: 'roomcast: two pusher apps have the key app-key' })

  const header = await registrationError(t, { pusher: { apps: [{ ...APP, webhooks: [{ url: 'http://x/', headers: { 'bad header': 'x' } }] }] } })
  t.match(header, { code: 'ROOMCAST_INVALID_OPTION', message: 'roomcast: pusher app app-id: webhooks[0].headers: "bad header" is not a valid header' })
})

t.test('valid options of every kind register', async (t) => {
  const error = await registrationError(t, {
    prefix: '/rt',
    path: '/live',
    heartbeat: { interval: 1000, timeout: 3000, mode: 'ping' },
    rateLimit: false,
    backpressure: { maxDropped: Infinity, policy: 'close' },
    adapter: () => memoryAdapter(),
    history: (room: string) => (room.startsWith('chat:') ? { size: 10, ttl: 1000 } : undefined),
    authenticate: () => null,
    encryption: 'optional',
    nodeId: 'node-1',
    pusher: {
      apps: [{ ...APP, maxConnections: -1, webhooks: [{ url: 'https://example.com/hook', eventTypes: ['channel_occupied'], headers: { 'x-token': 't' } }] }],
      pathPrefix: '/pusher',
      http: { cors: false, healthPath: false },
      webhooks: false,
    },
  })
  t.equal(error, undefined)
})

t.test('redisAdapter checks its options when called', async (t) => {
  const redis = { duplicate: () => undefined } as never
  t.throws(() => redisAdapter({ redis, connectTimeout: -1 }), {
    code: 'ROOMCAST_INVALID_OPTION',
    message: 'roomcast: redisAdapter connectTimeout must be a positive number of milliseconds, at most 2147483647 (got -1)',
  })
  t.throws(() => redisAdapter(undefined as never), {
    code: 'ROOMCAST_INVALID_OPTION',
    message: 'roomcast: redisAdapter options must be an object { redis, keyPrefix, requestTimeout, heartbeatInterval, connectTimeout } (got undefined)',
  })
})

/** An adapter's methods bound to it, as an object of its own (to take its history store away). */
function adapterMethods(target: Adapter): Adapter {
  return {
    attach: (node) => target.attach(node),
    publish: (delivery) => target.publish(delivery),
    query: (query) => target.query(query),
    watch: (kind, name) => target.watch(kind, name),
    unwatch: (kind, name) => target.unwatch(kind, name),
    trackPresence: (room, userId, action) => target.trackPresence(room, userId, action),
    close: () => target.close(),
    store: target.store,
  }
}

/**
 * The schemas a message can come from, each with its words: every object, list and union, and
 * every other value below them, except the variants of a union (the union's words stand for them,
 * unless the value was an object or a list, which are entered).
 */
function wordless(schema: TSchema, path: string, inUnion = false): string[] {
  const kind = schema[Kind] as string
  const own = !inUnion || kind === 'Object' || kind === 'Array' ? (acceptsOf(schema) === undefined ? [path] : []) : []
  if (kind === 'Object')
    return [...own, ...Object.entries(schema.properties as Record<string, TSchema>).flatMap(([key, value]) => wordless(value, `${path}.${key}`))]
  if (kind === 'Array') return [...own, ...wordless(schema.items, `${path}[]`)]
  if (kind === 'Record') return [...own, ...Object.values(schema.patternProperties as Record<string, TSchema>).flatMap((value) => wordless(value, `${path}{}`))]
  if (kind === 'Union') return [...own, ...(schema.anyOf as TSchema[]).flatMap((variant) => wordless(variant, path, true))]
  return own
}

t.test('every part of every options schema says in words what it accepts', async (t) => {
  t.same(wordless(RoomcastOptionsSchema, 'options'), [])
  t.same(wordless(RedisAdapterOptionsSchema, 'redisAdapter'), [])
  t.same(wordless(EmitterOptionsSchema, 'Emitter'), [])
})
