import t from 'tap'
import { MemoryChannelCache, RedisChannelCache } from '../../plugin/index.js'
import { resolveApp, type PusherAppConfig } from '../../plugin/pusher/apps.js'
import { startRedis } from '../helpers/redis.js'
import { until } from '../helpers/server.js'
import { signedFetch } from '../helpers/pusher-http.js'
import { APP, rawPusher, startPusherServer } from '../helpers/pusher.js'

/** Every numeric app limit set below zero means "unlimited" (soketi's convention), wherever it is used. */

const UNLIMITED: PusherAppConfig = {
  ...APP,
  maxConnections: -1,
  maxPresenceMembers: -1,
  maxPresenceMemberSizeKb: -1,
  maxClientEventsPerSecond: -1,
  maxEventPayloadKb: -1,
  maxEventNameLength: -1,
  maxChannelNameLength: -1,
  maxEventChannelsAtOnce: -1,
  maxEventBatchSize: -1,
  cacheTtl: -1,
  maxBackendEventsPerSecond: -1,
  maxReadRequestsPerSecond: -1,
}

t.test('resolved, a negative limit is unlimited; maxConnections keeps -1 (no quota to check)', async (t) => {
  const app = resolveApp(UNLIMITED)
  for (const name of [
    'maxPresenceMembers',
    'maxPresenceMemberSizeKb',
    'maxClientEventsPerSecond',
    'maxEventPayloadKb',
    'maxEventNameLength',
    'maxChannelNameLength',
    'maxEventChannelsAtOnce',
    'maxEventBatchSize',
    'cacheTtl',
  ] as const) {
    t.equal(app[name], Infinity, name)
  }
  t.equal(app.maxConnections, -1)
  t.equal(resolveApp({ ...APP, maxPresenceMembers: 0 }).maxPresenceMembers, 0, 'zero is a limit, not "unlimited"')
  t.throws(() => resolveApp({ ...APP, maxEventBatchSize: Number.NaN }), { message: 'roomcast: pusher app app-id: maxEventBatchSize must be a number' })
})

t.test('an app with every limit at -1: client events, presence members and sizes, names and batches all pass', async (t) => {
  const server = await startPusherServer({ apps: [UNLIMITED], pusher: { apps: [UNLIMITED], http: { bodyLimit: 4 * 1024 * 1024 } } })
  t.teardown(() => server.app.close())
  const sdk = server.sdk(UNLIMITED)
  const sender = await rawPusher(server.url())
  const receiver = await rawPusher(server.url())
  t.teardown(() => [sender, receiver].forEach(({ client }) => client.close()))

  // Presence: a user_info far above Pusher's 1 KiB, and more members than the default 100.
  // Longer than Pusher's 164 (the SDK signs up to 200).
  const channel = 'presence-' + 'x'.repeat(190)
  const join = async (socket: typeof sender, member: { user_id: string; user_info?: unknown }): Promise<void> => {
    const auth = sdk.authorizeChannel(socket.socketId, channel, member)
    socket.client.send({ event: 'pusher:subscribe', data: { channel, ...auth } })
    await socket.client.next('pusher_internal:subscription_succeeded')
  }
  await join(sender, { user_id: 'big', user_info: { blob: 'y'.repeat(50_000) } })
  await join(receiver, { user_id: 'other' })
  const crowd = await Promise.all(Array.from({ length: 101 }, () => rawPusher(server.url())))
  t.teardown(() => crowd.forEach(({ client }) => client.close()))
  await Promise.all(crowd.map((socket, i) => join(socket, { user_id: `m${i}` })))
  t.equal((await server.app.roomcast.pusher!.members(UNLIMITED.id, channel)).value.length, 103, 'no member limit')

  // Client events: a burst far past Pusher's 10 per second, a long name, a large payload.
  const name = 'client-' + 'n'.repeat(300)
  for (let i = 0; i < 50; i++) sender.client.send({ event: name, channel, data: { i, pad: 'z'.repeat(20_000) } })
  await until(() => receiver.client.all(name).length === 50 || sender.client.all('pusher:error').length > 0, 5_000, 'the client events')
  t.same(
    sender.client.all('pusher:error').map((frame) => JSON.stringify(frame).slice(0, 300)),
    [],
    'not one refused',
  )
  t.same(
    receiver.client.all(name).map((frame) => (typeof frame.data === 'string' ? JSON.parse(frame.data) : frame.data).i),
    Array.from({ length: 50 }, (_, i) => i),
    'all relayed, in order',
  )

  // The HTTP API: 150 channels at once, a batch of 20, a payload of 200 KiB, a name of 300.
  // By hand: the SDK itself refuses more than Pusher's 100 channels.
  const many = await signedFetch(server.port, 'POST', `/apps/${UNLIMITED.id}/events`, {
    name: 'e',
    channels: Array.from({ length: 150 }, (_, i) => `c${i}`),
    data: '{}',
  })
  t.same([many.status, many.body], [200, { ok: true }])
  const batch = Array.from({ length: 20 }, (_, i) => ({ channel: `b${i}`, name: 'n'.repeat(300), data: 'd'.repeat(10_000) }))
  const batched = await signedFetch(server.port, 'POST', `/apps/${UNLIMITED.id}/batch_events`, { batch })
  t.same([batched.status, batched.body], [200, { ok: true }])
  const big = await signedFetch(server.port, 'POST', `/apps/${UNLIMITED.id}/events`, { name: 'e', channels: ['c'.repeat(500)], data: 'q'.repeat(200 * 1024) })
  t.same([big.status, big.body], [200, { ok: true }])
})

t.test('cacheTtl below zero: cache channels keep their last event until the next one, in memory and in Redis', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const probe = redis.client()
  const ttl = resolveApp(UNLIMITED).cacheTtl
  for (const cache of [new MemoryChannelCache(), new RedisChannelCache({ redis: probe, prefix: 'unlimited:' })]) {
    await cache.set('app-id', 'cache-forever', { event: 'e', data: '1' }, ttl)
    t.same(await cache.get('app-id', 'cache-forever'), { event: 'e', data: '1' })
  }
  t.equal(await probe.pttl('unlimited:app-id:cache-forever'), -1, 'no expiry in Redis')
})
