import t from 'tap'
import { MemoryChannelCache, memoryChannelCache } from '../../plugin/index.js'
import { APP, rawPusher, startPusherServer } from '../helpers/pusher.js'

t.test('the in-memory cache keeps at most maxEntries channels, forgetting the least recently used', async (t) => {
  const cache = new MemoryChannelCache({ maxEntries: 3 })
  for (const channel of ['cache-a', 'cache-b', 'cache-c']) await cache.set('app', channel, { event: 'e', data: channel }, 60)
  t.same(await cache.get('app', 'cache-a'), { event: 'e', data: 'cache-a' }, 'a read makes cache-a recently used')
  await cache.set('app', 'cache-d', { event: 'e', data: 'cache-d' }, 60)
  t.equal(cache.size, 3)
  t.equal(await cache.get('app', 'cache-b'), undefined, 'cache-b, least recently used, is gone')
  for (const channel of ['cache-a', 'cache-c', 'cache-d']) t.ok(await cache.get('app', channel), `${channel} is kept`)
  await cache.set('app', 'cache-c', { event: 'e', data: 'again' }, 60)
  t.equal(cache.size, 3, 'rewriting a channel takes no extra entry')

  const churn = new MemoryChannelCache()
  for (let i = 0; i < 10_500; i++) await churn.set('app', `cache-${i}`, { event: 'e' }, 3600)
  t.equal(churn.size, 10_000, 'the default bound is 10 000 channels, whatever their TTL')
})

t.test('maxEntries is validated', async (t) => {
  for (const maxEntries of [0, -1, 2.5, Number.NaN]) t.throws(() => memoryChannelCache({ maxEntries }), { message: /maxEntries/ }, String(maxEntries))
  t.doesNotThrow(() => memoryChannelCache({ maxEntries: Infinity }))
})

t.test('a server with a bounded cache: an evicted channel answers pusher:cache_miss, a kept one replays', async (t) => {
  const server = await startPusherServer({ pusher: { apps: [APP], cache: memoryChannelCache({ maxEntries: 2 }) } })
  t.teardown(() => server.app.close())
  for (const channel of ['cache-one', 'cache-two', 'cache-three']) await server.app.roomcast.pusher!.trigger(APP.id, [channel], 'score', { channel })
  const { client } = await rawPusher(server.url())
  t.teardown(() => client.close())
  client.send({ event: 'pusher:subscribe', data: { channel: 'cache-one' } })
  t.same(await client.next('pusher:cache_miss'), { event: 'pusher:cache_miss', channel: 'cache-one' })
  client.send({ event: 'pusher:subscribe', data: { channel: 'cache-three' } })
  t.same(await client.next('score'), { event: 'score', channel: 'cache-three', data: '{"channel":"cache-three"}' })
})
