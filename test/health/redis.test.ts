// A node on a spawned redis-server that is killed and restarted: readiness turns 503
// (adapter_disconnected) and back to 200, and the scraped Redis metrics follow the outage.
import t from 'tap'
import { scrape, scrapeUntil } from '../helpers/metrics.js'
import { startNode, startRedis, uniquePrefix } from '../helpers/redis.js'
import { connect, until } from '../helpers/server.js'

async function ready(port: number): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`http://127.0.0.1:${port}/health/ready`)
  return { status: response.status, body: await response.json() }
}

t.test('Redis down: not ready, publish failures counted; Redis back: ready, reconnects counted', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const node = await startNode({
    redis: redis.client(),
    keyPrefix: uniquePrefix('health'),
    nodeId: 'n1',
    heartbeatInterval: 300,
    roomcast: { metrics: true, health: true },
  })
  t.teardown(() => node.app.close())
  const port = (node.app.server.address() as { port: number }).port
  const { client } = await connect(node.url, { user: 'ann' })
  t.teardown(() => client.close())
  await client.request('join', { rooms: ['room'] })

  t.same(await ready(port), { status: 200, body: { ready: true } })
  const before = await scrape(port)
  t.equal(before.value('roomcast_adapter_connected'), 1)
  t.equal(before.value('roomcast_redis_publish_failures_total'), 0)
  t.equal(before.value('roomcast_redis_reconnects_total'), 0)

  await redis.kill()
  await until(() => !node.app.roomcast.health().ready, 5_000, 'the node notices')
  t.same(await ready(port), { status: 503, body: { ready: false, reasons: ['adapter_disconnected'] } })
  await node.app.roomcast.rooms
    .to('room')
    .emit('chat', { n: 1 })
    .catch(() => {})
  t.same(await client.next('chat'), { event: 'chat', data: { n: 1 }, room: 'room' }, 'the local member is still served')
  const down = await scrape(port)
  t.equal(down.value('roomcast_adapter_connected'), 0)
  t.ok(down.value('roomcast_redis_publish_failures_total') >= 1, 'the publish to the room channel failed and was counted')
  const query = await node.app.roomcast.query({ type: 'nodes' })
  t.same(query.answered, ['n1'])

  await redis.restart()
  await until(() => node.app.roomcast.health().ready, 10_000, 'the node reconnects')
  t.same(await ready(port), { status: 200, body: { ready: true } })
  const up = await scrapeUntil(port, (s) => s.value('roomcast_redis_reconnects_total') >= 2)
  t.equal(up.value('roomcast_adapter_connected'), 1)
  t.equal(up.value('roomcast_redis_reconnects_total'), 2, 'both connections, once each')
  t.ok(up.value('roomcast_cluster_query_duration_seconds_count', { type: 'nodes' }) >= 1, 'the query was timed')
  t.ok(up.value('roomcast_redis_published_total') > 0)
})
