import type { PresenceChannel } from 'pusher-js'
import t, { type Test } from 'tap'
import { redisAdapter, redisRateLimiter, type PusherAppConfig, type PusherHttpOptions, type RedisAdapter } from '../../plugin/index.js'
import { startRedis, uniquePrefix, type RedisServer } from '../helpers/redis.js'
import { until } from '../helpers/server.js'
import { APP, connected, once, pusherJs, rawPusher, startPusherServer, whenState, type PusherServer } from '../helpers/pusher.js'
import { eventsOf, sdkError, signedFetch, webhookReceiver } from '../helpers/pusher-http.js'

/** Two nodes over a spawned redis-server: cluster-wide reads, publishes and terminations; webhooks once per cluster. */

interface Node extends PusherServer {
  adapter: RedisAdapter
  /** The Redis the nodes share, and their key prefix there, to look at what they stored. */
  redis: RedisServer
  keyPrefix: string
}

async function twoNodes(
  t: Test,
  app: PusherAppConfig,
  timing = { heartbeatInterval: 1_000, requestTimeout: 2_000 },
  http?: (redis: RedisServer, keyPrefix: string) => PusherHttpOptions,
): Promise<[Node, Node]> {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const keyPrefix = uniquePrefix('pusher-http')
  const start = async (nodeId: string): Promise<Node> => {
    const adapter = redisAdapter({ redis: redis.client(), keyPrefix, ...timing })
    const pusher = { apps: [app], webhooks: { retry: { initialDelayMs: 20, maxDelayMs: 40 } }, ...(http === undefined ? {} : { http: http(redis, keyPrefix) }) }
    const server = await startPusherServer({ nodeId, adapter, apps: [app], pusher })
    t.teardown(() => server.app.close())
    return { ...server, adapter, redis, keyPrefix }
  }
  const a = await start('a')
  const b = await start('b')
  await until(() => a.adapter.stats.liveNodes === 1 && b.adapter.stats.liveNodes === 1, 5_000, 'the nodes see each other')
  return [a, b]
}

async function settle(nodes: Node[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.adapter.settled()))
  await Promise.all(nodes.map((node) => node.app.roomcast.pusher!.webhooks?.settled()))
}

t.test('occupied, vacated and member events reach the webhook once for the cluster, not once per node', async (t) => {
  const hooks = await webhookReceiver()
  t.teardown(() => hooks.close())
  const [a, b] = await twoNodes(t, { ...APP, webhooks: [{ url: hooks.url }] })
  const one = pusherJs(a, { presence: () => ({ user_id: 'ann' }) })
  const two = pusherJs(b, { presence: () => ({ user_id: 'ann' }) })
  const three = pusherJs(b, { presence: () => ({ user_id: 'bob' }) })
  t.teardown(() => [one, two, three].forEach((client) => client.disconnect()))
  await Promise.all([one, two, three].map(connected))

  await once(one.subscribe('room-1'), 'pusher:subscription_succeeded')
  await once(two.subscribe('room-1'), 'pusher:subscription_succeeded')
  await once(one.subscribe('presence-p') as PresenceChannel, 'pusher:subscription_succeeded')
  await once(two.subscribe('presence-p') as PresenceChannel, 'pusher:subscription_succeeded')
  await once(three.subscribe('presence-p') as PresenceChannel, 'pusher:subscription_succeeded')
  await settle([a, b])
  one.unsubscribe('room-1')
  await until(async () => (await a.app.roomcast.pusher!.channelInfo(APP.id, 'room-1')).subscriptionCount === 1, 5_000, 'one left room-1')
  await settle([a, b])
  two.unsubscribe('room-1')
  for (const client of [one, two, three]) client.unsubscribe('presence-p')
  await until(() => eventsOf(hooks).filter((event) => event.name === 'channel_vacated').length === 2, 5_000, 'both channels vacated')
  await settle([a, b])

  const seen = eventsOf(hooks).map((event) => [event.name, event.channel, event.user_id].filter((part) => part !== undefined).join(' '))
  t.same([...seen].sort(), [
    'channel_occupied presence-p',
    'channel_occupied room-1',
    'channel_vacated presence-p',
    'channel_vacated room-1',
    'member_added presence-p ann',
    'member_added presence-p bob',
    'member_removed presence-p ann',
    'member_removed presence-p bob',
  ])
  t.ok(seen.indexOf('channel_occupied room-1') < seen.indexOf('channel_vacated room-1'))
  t.equal(hooks.received.length, 8, 'one request per event')
  for (const request of hooks.received)
    t.ok(
      a
        .sdk()
        .webhook({ headers: request.headers as Record<string, string>, rawBody: request.rawBody })
        .isValid(),
    )
})

t.test('a subscribe and an unsubscribe back to back: occupied then vacated, members added then removed, nothing left in Redis', async (t) => {
  const hooks = await webhookReceiver()
  t.teardown(() => hooks.close())
  const [a, b] = await twoNodes(t, { ...APP, webhooks: [{ url: hooks.url }] })
  const { client, socketId } = await rawPusher(a.url())
  t.teardown(() => client.close())
  // Both frames leave in one tick and reach the server together, so the leave's Redis update
  // is made while the join's is still on its way.
  const presence = a.sdk().authorizeChannel(socketId, 'presence-quick', { user_id: 'ann' })
  client.send({ event: 'pusher:subscribe', data: { channel: 'quick', auth: '' } })
  client.send({ event: 'pusher:unsubscribe', data: { channel: 'quick' } })
  client.send({ event: 'pusher:subscribe', data: { channel: 'presence-quick', ...presence } })
  client.send({ event: 'pusher:unsubscribe', data: { channel: 'presence-quick' } })
  // And pusher-js doing the same.
  const js = pusherJs(b)
  t.teardown(() => js.disconnect())
  await connected(js)
  js.subscribe('quick-js')
  js.unsubscribe('quick-js')

  const expected = [
    'channel_occupied presence-quick',
    'channel_occupied quick',
    'channel_occupied quick-js',
    'channel_vacated presence-quick',
    'channel_vacated quick',
    'channel_vacated quick-js',
    'member_added presence-quick ann',
    'member_removed presence-quick ann',
  ]
  await until(() => eventsOf(hooks).length >= expected.length, 5_000, 'every webhook')
  await settle([a, b])
  const seen = eventsOf(hooks).map((event) => [event.name, event.channel, event.user_id].filter((part) => part !== undefined).join(' '))
  t.same([...seen].sort(), expected)
  for (const channel of ['quick', 'quick-js', 'presence-quick']) {
    t.ok(seen.indexOf(`channel_occupied ${channel}`) < seen.indexOf(`channel_vacated ${channel}`), `${channel}: occupied, then vacated`)
  }
  t.same(await a.redis.client().keys(`${a.keyPrefix}:presence:*`), [], 'no member of any channel is left in Redis')
})

for (const only of ['channel_occupied', 'channel_vacated'] as const) {
  t.test(`only ${only} wanted: every occupy/vacate cycle still sends it once`, async (t) => {
    const hooks = await webhookReceiver()
    t.teardown(() => hooks.close())
    const [a, b] = await twoNodes(t, { ...APP, webhooks: [{ url: hooks.url, eventTypes: [only] }] })
    const onA = pusherJs(a)
    const onB = pusherJs(b)
    t.teardown(() => [onA, onB].forEach((client) => client.disconnect()))
    await Promise.all([connected(onA), connected(onB)])
    const cycles = 3
    for (let cycle = 0; cycle < cycles; cycle++) {
      // Alternate nodes, and once overlap them, so the cluster-wide transitions are the ones counted.
      const first = cycle === 0 ? onA : onB
      await once(first.subscribe('room'), 'pusher:subscription_succeeded')
      if (cycle === 2) {
        await once(onA.subscribe('room'), 'pusher:subscription_succeeded')
        await settle([a, b])
        onB.unsubscribe('room')
        await until(async () => (await a.app.roomcast.pusher!.channelInfo(APP.id, 'room')).subscriptionCount === 1, 5_000, 'b left')
        await settle([a, b])
        onA.unsubscribe('room')
      } else {
        await settle([a, b])
        first.unsubscribe('room')
      }
      await until(async () => (await a.app.roomcast.pusher!.channelInfo(APP.id, 'room')).subscriptionCount === 0, 5_000, `cycle ${cycle}: the room is empty`)
      await settle([a, b])
    }
    const seen = eventsOf(hooks).map((event) => `${event.name} ${event.channel}`)
    t.same(
      seen,
      Array.from({ length: cycles }, () => `${only} room`),
      `${only} once per cycle, nothing else`,
    )
  })
}

t.test('the SDK on one node: reads count both nodes, publishes and terminations reach the other', async (t) => {
  const [a, b] = await twoNodes(t, APP)
  const sdk = a.sdk()
  const onA = pusherJs(a, { presence: () => ({ user_id: 'ann', user_info: { n: 1 } }), user: { id: 'u1' } })
  const onB = pusherJs(b, { presence: () => ({ user_id: 'bob', user_info: { n: 2 } }), user: { id: 'u1' } })
  const bTab = pusherJs(b, { presence: () => ({ user_id: 'ann', user_info: { n: 1 } }) })
  t.teardown(() => [onA, onB, bTab].forEach((client) => client.disconnect()))
  await Promise.all([onA, onB, bTab].map(connected))
  const rooms = [onA, onB, bTab].map((client) => client.subscribe('presence-lobby') as PresenceChannel)
  await Promise.all(rooms.map((room) => once(room, 'pusher:subscription_succeeded')))
  await once(onB.subscribe('news'), 'pusher:subscription_succeeded')
  await settle([a, b])

  const json = async (path: string, params?: Record<string, string>) => (await sdk.get({ path, ...(params === undefined ? {} : { params }) })).json()
  t.same(await json('/channels', { filter_by_prefix: 'presence-', info: 'user_count' }), {
    channels: { 'presence-lobby': { occupied: true, subscription_count: 3, user_count: 2 } },
  })
  t.same(await json('/channels'), {
    channels: { news: { occupied: true, subscription_count: 1 }, 'presence-lobby': { occupied: true, subscription_count: 3 } },
  })
  t.same(await json('/channels/news'), { occupied: true, subscription_count: 1 }, 'a channel only node b has')
  t.same(await json('/channels/presence-lobby'), { occupied: true, subscription_count: 3, user_count: 2 })
  const users = (await json('/channels/presence-lobby/users', { with_user_info: 'true' })) as { users: Array<{ id: string }> }
  t.same(
    users.users.sort((x, y) => x.id.localeCompare(y.id)),
    [
      { id: 'ann', user_info: { n: 1 } },
      { id: 'bob', user_info: { n: 2 } },
    ],
  )

  const got = once(onB.channel('news'), 'flash')
  const published = await sdk.trigger('news', 'flash', { via: 'a' }, { info: 'subscription_count' })
  t.same(await published.json(), { ok: true, channels: { news: { subscription_count: 1 } } })
  t.same(await got, { via: 'a' }, 'published on a, received on b')

  onA.signin()
  onB.signin()
  await until(() => [onA, onB].every((client) => client.user.serverToUserChannel?.subscribed === true), 5_000, 'signed in on both nodes')
  const notes = [once(onA.user, 'note'), once(onB.user, 'note')]
  await b.sdk().sendToUser('u1', 'note', { from: 'b' })
  t.same(await Promise.all(notes), [{ from: 'b' }, { from: 'b' }])
  const ended = [whenState(onA, 'disconnected'), whenState(onB, 'disconnected')]
  const terminated = await sdk.terminateUserConnections('u1')
  t.equal(terminated.status, 200)
  t.equal(terminated.headers.get('x-roomcast-missing-nodes'), null, 'every node answered')
  await Promise.all(ended)
  t.equal(bTab.connection.state, 'connected')
})

t.test('with the Redis adapter, cache channels and HTTP rate limits are kept in Redis without any option', async (t) => {
  const limited = { ...APP, maxBackendEventsPerSecond: 100 }
  const [a, b] = await twoNodes(t, limited)
  const probe = a.redis.client()

  // A cache channel published on a is replayed on b, from Redis.
  await a.sdk().trigger('cache-board', 'score', { home: 2 })
  t.equal(await probe.exists(`${a.keyPrefix}:pusher-cache:app-id:cache-board`), 1, 'the last event is in Redis, under the adapter prefix')
  const onB = pusherJs(b)
  t.teardown(() => onB.disconnect())
  await connected(onB)
  t.same(await once(onB.subscribe('cache-board'), 'score'), { home: 2 }, 'replayed on the other node')

  // Checked at once: the counter lives for the one-second window.
  await b.sdk().trigger(['x', 'y'], 'e', {})
  t.same(await probe.keys(`${a.keyPrefix}:pusher-rate:*`), [`${a.keyPrefix}:pusher-rate:app-id\u0000events`], 'the rate-limit window is counted in Redis')
})

t.test('Redis away: the HTTP API still publishes locally and answers 503; cache writes are skipped and rate limits counted on the node', async (t) => {
  const limited = { ...APP, maxBackendEventsPerSecond: 100 }
  const [a] = await twoNodes(t, limited)
  const client = pusherJs(a)
  t.teardown(() => client.disconnect())
  await connected(client)
  const board = client.subscribe('cache-board')
  await once(board, 'pusher:cache_miss')
  await a.redis.kill()
  const got = once(board, 'score')
  const published = await signedFetch(a.port, 'POST', '/apps/app-id/events', { name: 'score', channel: 'cache-board', data: '{"home":3}' }, { app: limited })
  t.equal(published.status, 503, 'the other nodes did not get it: not acknowledged as published')
  t.match(published.body, { code: 503, error: /could not be handed to the other nodes/ })
  t.equal(published.headers.get('x-ratelimit-remaining'), '99', 'counted on this node meanwhile')
  t.same(await got, { home: 3 }, 'delivered locally')
})

t.test('a rate limit counted in Redis is one budget for the whole cluster', async (t) => {
  const limited = { ...APP, maxBackendEventsPerSecond: 3 }
  // A minute-long window, so that every request below lands in the same one on a slow machine.
  const [a, b] = await twoNodes(t, limited, undefined, (redis, keyPrefix) => ({
    rateLimiter: redisRateLimiter({ redis: redis.client(), prefix: `${keyPrefix}:rate:`, windowMs: 60_000 }),
  }))
  const first = await a.sdk().trigger(['x', 'y'], 'e', {})
  t.equal(first.headers.get('x-ratelimit-remaining'), '1')
  t.same(await sdkError(b.sdk().trigger(['z', 'w'], 'e', {})), { status: 429, body: { error: 'Too many requests.', code: 429 } }, 'b sees what a used')
  const last = await b.sdk().trigger('z', 'e', {})
  t.equal(last.headers.get('x-ratelimit-remaining'), '0', 'the last point, taken on b')
  t.same(await sdkError(a.sdk().trigger('v', 'e', {})), { status: 429, body: { error: 'Too many requests.', code: 429 } }, 'and a sees it')
})

t.test('a node that stops answering: reads still answer, naming the missing node', async (t) => {
  // Slow liveness, quick queries: b is still expected when a asks, and never answers.
  const [a, b] = await twoNodes(t, APP, { heartbeatInterval: 10_000, requestTimeout: 300 })
  const remote = pusherJs(b)
  const local = pusherJs(a)
  t.teardown(() => [remote, local].forEach((client) => client.disconnect()))
  await Promise.all([connected(remote), connected(local)])
  await once(remote.subscribe('news'), 'pusher:subscription_succeeded')
  await once(local.subscribe('news'), 'pusher:subscription_succeeded')
  await settle([a, b])
  t.same(await (await a.sdk().get({ path: '/channels/news' })).json(), { occupied: true, subscription_count: 2 })

  b.adapter.disconnectAbruptly()
  const response = await a.sdk().get({ path: '/channels/news' })
  t.equal(response.status, 200)
  t.equal(response.headers.get('x-roomcast-missing-nodes'), 'b')
  t.same(await response.json(), { occupied: true, subscription_count: 1 }, "a's own part")
  const listing = await a.sdk().get({ path: '/channels' })
  t.equal(listing.headers.get('x-roomcast-missing-nodes'), 'b')
  t.same(await listing.json(), { channels: { news: { occupied: true, subscription_count: 1 } } })
})
