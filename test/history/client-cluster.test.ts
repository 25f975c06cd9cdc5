import t from 'tap'
import { redisAdapter, type RedisAdapter, type RoomcastServer } from '../../plugin/index.js'
import { nextEvent, startTestServer, type TestEvents, type TestServer } from '../helpers/client.js'
import { startRedis, uniquePrefix, type RedisServer } from '../helpers/redis.js'
import { until } from '../helpers/server.js'
import { cutDuringStream, EVERY_MS, expectWholeStream, joinFeedThroughCut, stream } from './client-support.js'
const history = [{ match: 'feed', size: 1000, ttl: 60_000 }]

interface Node {
  server: TestServer
  adapter: RedisAdapter
  rooms: RoomcastServer<TestEvents>['rooms']
}

async function startNodeOn(t: Parameters<Parameters<typeof t.test>[1]>[0], redis: RedisServer, keyPrefix: string, nodeId: string): Promise<Node> {
  const adapter = redisAdapter({ redis: redis.client(), keyPrefix, heartbeatInterval: 1_000, requestTimeout: 2_000 })
  const server = await startTestServer({ adapter, nodeId, history })
  t.teardown(() => server.close())
  return { server, adapter, rooms: (server.app.roomcast as unknown as RoomcastServer<TestEvents>).rooms }
}

t.test('two nodes over Redis: a client cut during a 50 msg/s stream reconnects to the OTHER node and gets every message once, in order', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const keyPrefix = uniquePrefix('client-cluster')
  const a = await startNodeOn(t, redis, keyPrefix, 'a')
  const b = await startNodeOn(t, redis, keyPrefix, 'b')
  const { proxy, client, received, recoveries } = await joinFeedThroughCut(t, a.server.port)
  await a.adapter.settled()

  // Published on node b: before the cut the client hears it through Redis, after it from b itself.
  const feed = stream((n) => b.rooms.to('feed').emit('said', { from: 'b', text: String(n) }), EVERY_MS)
  t.teardown(() => feed.stop())
  await until(() => received.length >= 25, 10_000, 'the stream reaches the client')

  await cutDuringStream(client, proxy, feed, b.server.port)
  t.ok(b.server.app.roomcast.connections.get(client.connectionId!), 'the client is on node b now')
  await expectWholeStream(t, feed, received)
  t.match(recoveries, [{ room: 'feed', recovered: true }])
  t.ok(recoveries[0]!.replayed > 0, `node b replayed the gap (${recoveries[0]!.replayed} publications)`)
})

t.test('Redis restarted without persistence: the rejoin reports recovered: false, epoch_changed, and the stream goes on', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const node = await startNodeOn(t, redis, uniquePrefix('client-epoch'), 'a')
  const { proxy, client, received, recoveries } = await joinFeedThroughCut(t, node.server.port)
  await node.adapter.settled()
  for (let n = 0; n < 3; n++) await node.rooms.to('feed').emit('said', { from: 'a', text: String(n) })
  await until(() => received.length === 3)
  const before = (await client.history('feed')).epoch

  const lost = nextEvent(client, 'reconnecting')
  proxy.cut()
  await lost
  await redis.kill()
  await redis.restart()
  // The first publication once the adapter is back starts the new stream.
  await until(
    () =>
      node.rooms
        .to('feed')
        .emit('said', { from: 'a', text: '3' })
        .then(
          () => true,
          () => false,
        ),
    10_000,
    'a publication is stored again',
  )
  const recovery = nextEvent(client, 'recovery', 10_000)
  proxy.restore()
  t.match(await recovery, { room: 'feed', recovered: false, reason: 'epoch_changed', replayed: 0 })
  await client.ready()
  const after = await client.history('feed')
  t.not(after.epoch, before, 'a new epoch')
  t.same(
    after.publications.map((publication) => publication.data.text),
    ['3'],
    'the history holds what was published since',
  )

  await node.adapter.settled()
  await node.rooms.to('feed').emit('said', { from: 'a', text: '4' })
  await until(() => received.includes(4), 5_000, 'live messages flow in the new epoch')
  t.same(received, [0, 1, 2, 4], 'nothing delivered twice; the lost one is for the application to reload')
  t.equal(recoveries.length, 1, 'one recovery event')
})
