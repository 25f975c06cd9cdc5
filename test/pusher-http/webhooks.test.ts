import { createHmac } from 'node:crypto'
import type { PresenceChannel } from 'pusher-js'
import t, { type Test } from 'tap'
import Fastify from 'fastify'
import roomcast, { redisAdapter, type PusherAppConfig, type WebhookOptions } from '../../plugin/index.js'
import { startRedis, uniquePrefix } from '../helpers/redis.js'
import { until } from '../helpers/server.js'
import { APP, connected, once, pusherJs, startPusherServer, type PusherServer } from '../helpers/pusher.js'
import { resolveOptions } from '../../plugin/options.js'
import { resolveWebhookOptions } from '../../plugin/pusher/webhooks/options.js'
import { parseRetryAfter, retryDelay } from '../../plugin/pusher/webhooks/retry.js'
import { eventsOf, webhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../helpers/pusher-http.js'

/** Webhooks to a real HTTP receiver on 127.0.0.1: payloads, signatures, filters, batching, retries, bounds. */

const FAST_RETRIES: WebhookOptions = { retry: { initialDelayMs: 20, maxDelayMs: 40 }, closeTimeoutMs: 500 }

async function serverWith(
  t: Test,
  app: PusherAppConfig,
  webhooks: WebhookOptions = FAST_RETRIES,
  extra: { subscriptionCountInterval?: number } = {},
): Promise<PusherServer> {
  const server = await startPusherServer({ apps: [app], pusher: { apps: [app], webhooks, ...extra } })
  t.teardown(() => server.app.close())
  return server
}

async function receiver(t: Test): Promise<WebhookReceiver> {
  const hooks = await webhookReceiver()
  t.teardown(() => hooks.close())
  return hooks
}

function isSigned(server: PusherServer, request: ReceivedWebhook, app: PusherAppConfig = APP): boolean {
  return server
    .sdk(app)
    .webhook({ headers: request.headers as Record<string, string>, rawBody: request.rawBody })
    .isValid()
}

t.test('every event type, with its payload; each request signed over its exact body', async (t) => {
  const hooks = await receiver(t)
  const app = { ...APP, enableSubscriptionCount: true, webhooks: [{ url: hooks.url }] }
  const server = await serverWith(t, app, FAST_RETRIES, { subscriptionCountInterval: 20 })
  const webhooks = server.app.roomcast.pusher!.webhooks!
  const events = () => eventsOf(hooks)
  const has = (event: Record<string, unknown>) => () => events().some((got) => JSON.stringify(got) === JSON.stringify(event))

  const ann = pusherJs(server, { presence: () => ({ user_id: 'ann', user_info: { name: 'Ann' } }) })
  const num = pusherJs(server, { presence: () => ({ user_id: 7 }) })
  t.teardown(() => [ann, num].forEach((client) => client.disconnect()))
  const [, numId] = await Promise.all([connected(ann), connected(num)])

  const annRoom = ann.subscribe('presence-p') as PresenceChannel
  await once(annRoom, 'pusher:subscription_succeeded')
  await until(has({ name: 'member_added', channel: 'presence-p', user_id: 'ann' }), 5000, 'member_added ann')
  const numRoom = num.subscribe('presence-p') as PresenceChannel
  await once(numRoom, 'pusher:subscription_succeeded')
  await until(has({ name: 'member_added', channel: 'presence-p', user_id: 7 }), 5000, 'member_added 7 (a number stays a number)')

  const heard = once(annRoom, 'client-hi')
  numRoom.trigger('client-hi', { text: 'yo' })
  await heard
  await until(
    has({ name: 'client_event', channel: 'presence-p', event: 'client-hi', data: '{"text":"yo"}', socket_id: numId, user_id: 7 }),
    5000,
    'client_event',
  )

  await once(ann.subscribe('cache-c'), 'pusher:cache_miss')
  await until(has({ name: 'cache_miss', channel: 'cache-c' }), 5000, 'cache_miss')

  const counted = once<{ subscription_count: number }>(ann.subscribe('counted'), 'pusher:subscription_count')
  t.same(await counted, { subscription_count: 1 }, 'pusher-js gets pusher:subscription_count')
  await until(has({ name: 'subscription_count', channel: 'counted', subscription_count: 1 }), 5000, 'subscription_count')

  num.unsubscribe('presence-p')
  await until(has({ name: 'member_removed', channel: 'presence-p', user_id: 7 }), 5000, 'member_removed')
  ann.unsubscribe('presence-p')
  await until(has({ name: 'channel_vacated', channel: 'presence-p' }), 5000, 'channel_vacated')
  await webhooks.settled()

  t.same(
    events()
      .filter((event) => event.name === 'channel_occupied')
      .map((event) => event.channel)
      .sort(),
    ['cache-c', 'counted', 'presence-p'],
    'channel_occupied once per channel',
  )
  const presence = events()
    .filter((event) => event.channel === 'presence-p')
    .map((event) => event.name)
  t.same([...presence].sort(), ['channel_occupied', 'channel_vacated', 'client_event', 'member_added', 'member_added', 'member_removed', 'member_removed'])
  t.equal(presence.at(-1), 'channel_vacated', 'vacated comes last')
  t.ok(presence.indexOf('client_event') > presence.lastIndexOf('member_added') && presence.indexOf('client_event') < presence.indexOf('member_removed'))
  t.same(
    events()
      .filter((event) => event.name === 'subscription_count')
      .map((event) => event.channel)
      .sort(),
    ['cache-c', 'counted'],
    'counts for non-presence channels only',
  )
  for (const request of hooks.received) {
    t.ok(isSigned(server, request), 'the SDK verifies the signature')
    t.equal(request.headers['x-pusher-key'], APP.key)
    t.equal(request.headers['x-pusher-signature'], createHmac('sha256', APP.secret).update(request.rawBody).digest('hex'))
    t.equal(request.headers['content-type'], 'application/json')
    t.equal(request.body.events.length, 1, 'without batching, one event per request (as Pusher)')
    t.ok(Math.abs(request.body.time_ms - Date.now()) < 60_000, 'time_ms is a time in ms')
  }
  t.notOk(isSigned(server, { ...hooks.received[0]!, rawBody: hooks.received[0]!.rawBody.replace('"events"', ' "events"') }), 'one byte more and it fails')
  t.same(webhooks.stats, { queued: 0, sent: hooks.received.length, requests: hooks.received.length, failedRequests: 0, retries: 0, gaveUp: 0, dropped: 0 })
})

t.test('filters by event type, channel prefix and suffix; custom headers; several endpoints', async (t) => {
  const hooks = await receiver(t)
  const app = {
    ...APP,
    webhooks: [
      { url: `${hooks.url}?to=filtered`, eventTypes: ['channel_occupied' as const], filter: { channelNamePrefix: 'beta-', channelNameSuffix: '-app' } },
      { url: `${hooks.url}?to=all`, headers: { 'X-Custom': 'yes', Authorization: 'Bearer token' } },
    ],
  }
  const server = await serverWith(t, app)
  const client = pusherJs(server)
  t.teardown(() => client.disconnect())
  await connected(client)
  for (const channel of ['beta-x-app', 'beta-x', 'x-app']) await once(client.subscribe(channel), 'pusher:subscription_succeeded')
  client.unsubscribe('beta-x-app')
  await until(() => eventsOf(hooks, (r) => r.url.endsWith('to=all')).length === 4, 5000, 'all four events at the second endpoint')
  await server.app.roomcast.pusher!.webhooks!.settled()

  t.same(
    eventsOf(hooks, (r) => r.url.endsWith('to=filtered')),
    [{ name: 'channel_occupied', channel: 'beta-x-app' }],
    'prefix AND suffix AND type',
  )
  t.same(
    eventsOf(hooks, (r) => r.url.endsWith('to=all')).map((e) => `${e.name} ${e.channel}`),
    ['channel_occupied beta-x-app', 'channel_occupied beta-x', 'channel_occupied x-app', 'channel_vacated beta-x-app'],
  )
  const toAll = hooks.received.find((r) => r.url.endsWith('to=all'))!
  t.equal(toAll.headers['x-custom'], 'yes')
  t.equal(toAll.headers.authorization, 'Bearer token')
  t.ok(isSigned(server, toAll))
  const filtered = hooks.received.find((r) => r.url.endsWith('to=filtered'))!
  t.equal(filtered.headers['x-custom'], undefined, 'headers belong to their endpoint')
})

t.test('custom headers can never replace the signed ones: such a configuration is refused at start-up', async (t) => {
  const refused = async (app: PusherAppConfig, message: string): Promise<void> => {
    const fastify = Fastify()
    t.teardown(() => fastify.close())
    await t.rejects(
      async () => {
        await fastify.register(roomcast, { pusher: { apps: [app] } })
      },
      { name: 'TypeError', code: 'ROOMCAST_INVALID_OPTION', message },
    )
  }
  for (const header of ['X-Pusher-Signature', 'x-pusher-key', 'Content-Type']) {
    await refused(
      { ...APP, webhooks: [{ url: 'http://127.0.0.1:9/hook', headers: { [header]: 'forged' } }] },
      `roomcast: pusher app app-id: webhooks[0].headers: ${header} is set by the webhook sender and cannot be overridden`,
    )
  }
  await refused({ ...APP, webhooks: [{ url: 'ftp://x/y' }] }, 'roomcast: pusher.apps[0].webhooks[0].url must be an http(s) URL (got the string "ftp://x/y")')
  await refused(
    { ...APP, webhooks: [{ url: 'http://x/', eventTypes: ['channel_exploded' as never] }] },
    `roomcast: pusher.apps[0].webhooks[0].eventTypes[0] must be 'channel_occupied', 'channel_vacated', 'member_added'`,
  )
})

t.test('batching: a window collects events into one request; maxBatchSize splits them', async (t) => {
  const hooks = await receiver(t)
  const app = { ...APP, webhooks: [{ url: hooks.url, eventTypes: ['channel_occupied' as const] }] }
  const server = await serverWith(t, app, { ...FAST_RETRIES, batchWindowMs: 300 })
  const client = pusherJs(server)
  t.teardown(() => client.disconnect())
  await connected(client)
  await Promise.all(['a', 'b', 'c'].map((channel) => once(client.subscribe(channel), 'pusher:subscription_succeeded')))
  const [request] = await hooks.waitFor(1)
  t.same(request!.body.events, [
    { name: 'channel_occupied', channel: 'a' },
    { name: 'channel_occupied', channel: 'b' },
    { name: 'channel_occupied', channel: 'c' },
  ])
  t.ok(isSigned(server, request!))

  const split = await receiver(t)
  const small = { ...APP, webhooks: [{ url: split.url, eventTypes: ['channel_occupied' as const] }] }
  const other = await serverWith(t, small, { ...FAST_RETRIES, batchWindowMs: 60_000, maxBatchSize: 2 })
  const second = pusherJs(other)
  t.teardown(() => second.disconnect())
  await connected(second)
  await Promise.all(['a', 'b', 'c'].map((channel) => once(second.subscribe(channel), 'pusher:subscription_succeeded')))
  const [full] = await split.waitFor(1)
  t.equal(full!.body.events.length, 2, 'a full batch goes at once, without waiting for the window')
  // Closing the server flushes the rest instead of waiting a minute.
  await other.app.close()
  t.equal(split.received.length, 2)
  t.same(split.received[1]!.body.events, [{ name: 'channel_occupied', channel: 'c' }])
  t.same(other.app.roomcast.pusher!.webhooks!.stats.sent, 3)
})

t.test('retries: a receiver that fails with 500 gets the same signed bytes again until it recovers', async (t) => {
  const hooks = await receiver(t)
  hooks.respond = ({ index }) => (index < 2 ? 500 : 200)
  const app = { ...APP, webhooks: [{ url: hooks.url }] }
  const server = await serverWith(t, app)
  const client = pusherJs(server)
  t.teardown(() => client.disconnect())
  await connected(client)
  await once(client.subscribe('flaky'), 'pusher:subscription_succeeded')
  const webhooks = server.app.roomcast.pusher!.webhooks!
  await hooks.waitFor(3)
  await webhooks.settled()
  t.same(
    hooks.received.map((r) => r.status),
    [500, 500, 200],
  )
  t.equal(new Set(hooks.received.map((r) => r.rawBody)).size, 1, 'the same body each time')
  t.equal(new Set(hooks.received.map((r) => r.headers['x-pusher-signature'])).size, 1, 'the same signature each time')
  t.same(webhooks.stats, { queued: 0, sent: 1, requests: 3, failedRequests: 2, retries: 2, gaveUp: 0, dropped: 0 })

  // Retry-After from the receiver is honoured (within maxDelayMs).
  hooks.respond = ({ index }) => (index === 3 ? { status: 503, headers: { 'retry-after': '0.03' } } : 200)
  client.unsubscribe('flaky')
  await hooks.waitFor(5)
  await webhooks.settled()
  t.same(
    hooks.received.slice(3).map((r) => r.status),
    [503, 200],
  )
})

t.test('giving up: after maxAttempts the events are counted and logged, and later events still go out', async (t) => {
  const hooks = await receiver(t)
  hooks.respond = () => 500
  const app = { ...APP, webhooks: [{ url: hooks.url, eventTypes: ['channel_occupied' as const] }] }
  const server = await serverWith(t, app, { retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 20 } })
  const webhooks = server.app.roomcast.pusher!.webhooks!
  const client = pusherJs(server)
  t.teardown(() => client.disconnect())
  await connected(client)
  await once(client.subscribe('doomed'), 'pusher:subscription_succeeded')
  await hooks.waitFor(3)
  await webhooks.settled()
  t.same(webhooks.stats, { queued: 0, sent: 0, requests: 3, failedRequests: 3, retries: 2, gaveUp: 1, dropped: 0 })

  hooks.respond = () => 200
  await once(client.subscribe('next'), 'pusher:subscription_succeeded')
  await hooks.waitFor(4)
  await webhooks.settled()
  t.same(hooks.received[3]!.body.events, [{ name: 'channel_occupied', channel: 'next' }])
  t.equal(webhooks.stats.sent, 1)

  // An endpoint nobody listens on: connection refused, retried, given up, counted.
  const dead = await webhookReceiver()
  const deadUrl = dead.url
  await dead.close()
  const other = await serverWith(t, { ...APP, webhooks: [{ url: deadUrl }] }, { retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 20 } })
  const lonely = pusherJs(other)
  t.teardown(() => lonely.disconnect())
  await connected(lonely)
  await once(lonely.subscribe('nowhere'), 'pusher:subscription_succeeded')
  await until(() => other.app.roomcast.pusher!.webhooks!.stats.gaveUp === 1, 5000, 'given up')
  t.same(other.app.roomcast.pusher!.webhooks!.stats, { queued: 0, sent: 0, requests: 2, failedRequests: 2, retries: 1, gaveUp: 1, dropped: 0 })
})

t.test('a bounded queue: past maxQueuedEvents new events are dropped and counted; delivery never waits', async (t) => {
  const hooks = await receiver(t)
  hooks.respond = () => 500
  const app = { ...APP, webhooks: [{ url: hooks.url, eventTypes: ['channel_occupied' as const] }] }
  const server = await serverWith(t, app, { maxQueuedEvents: 2, retry: { maxAttempts: 1000, initialDelayMs: 50, maxDelayMs: 50 } })
  const webhooks = server.app.roomcast.pusher!.webhooks!
  const client = pusherJs(server)
  t.teardown(() => client.disconnect())
  await connected(client)
  for (const channel of ['q1', 'q2', 'q3', 'q4', 'q5']) await once(client.subscribe(channel), 'pusher:subscription_succeeded')
  // Messages flow while the receiver is down.
  const got = once(client.channel('q5'), 'still-flowing')
  await server.sdk().trigger('q5', 'still-flowing', { ok: true })
  t.same(await got, { ok: true })
  await until(() => webhooks.stats.dropped === 3, 5000, 'three dropped')
  t.equal(webhooks.stats.queued, 2)

  hooks.respond = () => 200
  await webhooks.settled()
  t.same(
    eventsOf(hooks, (r) => r.status === 200).map((e) => e.channel),
    ['q1', 'q2'],
  )
  t.match(webhooks.stats, { queued: 0, sent: 2, gaveUp: 0, dropped: 3 })
})

t.test('a dead receiver fills only its own queue: a healthy endpoint of the same app keeps getting every event', async (t) => {
  const healthy = await receiver(t)
  const gone = await webhookReceiver()
  const deadUrl = gone.url
  await gone.close()
  const app = {
    ...APP,
    webhooks: [
      { url: deadUrl, eventTypes: ['channel_occupied' as const] },
      { url: healthy.url, eventTypes: ['channel_occupied' as const] },
    ],
  }
  // The global bound alone would let the dead endpoint take all 5 places for minutes.
  const server = await serverWith(t, app, {
    maxQueuedEventsPerEndpoint: 3,
    maxQueuedEvents: 5,
    retry: { maxAttempts: 1000, initialDelayMs: 50, maxDelayMs: 50 },
  })
  const webhooks = server.app.roomcast.pusher!.webhooks!
  const client = pusherJs(server)
  t.teardown(() => client.disconnect())
  await connected(client)
  const channels = Array.from({ length: 10 }, (_, i) => `busy-${i}`)
  for (const [i, channel] of channels.entries()) {
    await once(client.subscribe(channel), 'pusher:subscription_succeeded')
    await healthy.waitFor(i + 1, 5000)
  }
  t.same(
    eventsOf(healthy).map((event) => event.channel),
    channels,
    'the healthy receiver got every event, in order',
  )
  t.equal(webhooks.stats.dropped, 7, 'the dead endpoint kept 3 and dropped the rest')
  await until(() => webhooks.stats.queued === 3, 5000, 'the healthy endpoint has nothing left')
  t.same(
    webhooks.endpointStats.map(({ url, queued, dropped }) => ({ url, queued, dropped })),
    [{ url: deadUrl, queued: 3, dropped: 7 }],
    'drops are counted per endpoint; the healthy one, with nothing queued or dropped, is not listed',
  )
})

t.test('webhooks: false sends nothing and tracks nothing', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const hooks = await receiver(t)
  const app = { ...APP, webhooks: [{ url: hooks.url }] }
  const keyPrefix = uniquePrefix('no-webhooks')
  const adapter = redisAdapter({ redis: redis.client(), keyPrefix })
  const off = await startPusherServer({ adapter, apps: [app], pusher: { apps: [app], webhooks: false } })
  t.teardown(() => off.app.close())
  t.equal(off.app.roomcast.pusher!.webhooks, undefined)
  // A server with webhooks, doing the same, to know when its webhooks would have arrived.
  const on = await serverWith(t, app)
  const client = pusherJs(off)
  const control = pusherJs(on)
  t.teardown(() => [client, control].forEach((c) => c.disconnect()))
  await Promise.all([connected(client), connected(control)])
  await once(client.subscribe('quiet'), 'pusher:subscription_succeeded')
  await off.sdk().trigger('quiet', 'x', {})
  client.unsubscribe('quiet')
  await until(async () => (await off.app.roomcast.pusher!.channelInfo(APP.id, 'quiet')).subscriptionCount === 0, 5000, 'quiet vacated')
  await once(control.subscribe('loud'), 'pusher:subscription_succeeded')
  await until(() => eventsOf(hooks).length > 0, 5000, "the control server's webhook")
  await on.app.roomcast.pusher!.webhooks!.settled()
  await adapter.settled()

  t.same(
    eventsOf(hooks).map((event) => `${event.name} ${event.channel}`),
    ['channel_occupied loud'],
    'nothing from the server without webhooks',
  )
  for (const name of ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed', 'client_event', 'cache_miss', 'subscription_count'] as const) {
    t.notOk(off.app.roomcast.pusher!.events.has(name), `nobody listens to ${name}`)
  }
  const probe = redis.client()
  t.same(await probe.keys(`${keyPrefix}:presence:*`), [], 'no occupancy was tracked in Redis')
})

t.test('the retry schedule: doubling steps with equal jitter, a ceiling, Retry-After, and the limits that end it', async (t) => {
  const policy = { maxAttempts: 10, initialDelayMs: 1000, maxDelayMs: 60_000, maxElapsedMs: 300_000 }
  t.same(
    [1, 2, 3, 4, 8, 9].map((retry) => retryDelay(policy, retry, 0, undefined, () => 0)),
    [500, 1000, 2000, 4000, 30_000, 30_000],
    'lowest: half of each step',
  )
  t.same(
    [1, 2, 3, 4, 8, 9].map((retry) => retryDelay(policy, retry, 0, undefined, () => 1)),
    [1000, 2000, 4000, 8000, 60_000, 60_000],
    'highest: the whole step, capped',
  )
  t.equal(retryDelay(policy, 10, 0), undefined, 'the tenth attempt was the last')
  t.equal(
    retryDelay(policy, 3, 299_000, undefined, () => 0),
    undefined,
    'no retry would start after maxElapsedMs',
  )
  t.equal(
    retryDelay(policy, 1, 0, 30, () => 0),
    30_000,
    'Retry-After: 30 s is waited',
  )
  t.equal(
    retryDelay(policy, 1, 0, 3600, () => 0),
    60_000,
    'but never longer than maxDelayMs',
  )
  t.equal(parseRetryAfter('2.5'), 2.5)
  t.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT'), undefined)
  t.equal(parseRetryAfter(null), undefined)
  t.same(
    resolveWebhookOptions({}),
    {
      batchWindowMs: 0,
      maxBatchSize: 100,
      maxQueuedEventsPerEndpoint: 1_000,
      maxQueuedEvents: 10_000,
      requestTimeoutMs: 10_000,
      retry: { maxAttempts: 10, initialDelayMs: 1000, maxDelayMs: 60_000, maxElapsedMs: 300_000 },
      closeTimeoutMs: 2000,
      clientEventData: 'string',
    },
    'the defaults',
  )
  // Checked with the plugin's other options, before any default is filled in.
  t.throws(() => resolveOptions({ pusher: { apps: [], webhooks: { maxQueuedEvents: 0 } } }), {
    code: 'ROOMCAST_INVALID_OPTION',
    message: 'roomcast: pusher.webhooks.maxQueuedEvents must be a positive integer (got 0)',
  })
  t.throws(() => resolveOptions({ pusher: { apps: [], webhooks: { maxQueuedEventsPerEndpoint: 0.5 } } }), {
    code: 'ROOMCAST_INVALID_OPTION',
    message: 'roomcast: pusher.webhooks.maxQueuedEventsPerEndpoint must be a positive integer (got 0.5)',
  })
  t.equal(resolveWebhookOptions({ clientEventData: 'as-sent' }).clientEventData, 'as-sent')
  t.throws(() => resolveOptions({ pusher: { apps: [], webhooks: { clientEventData: 'object' as never } } }), {
    code: 'ROOMCAST_INVALID_OPTION',
    message: /pusher\.webhooks\.clientEventData must be 'string' or 'as-sent'/,
  })
})
