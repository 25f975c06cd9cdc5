import { Redis } from 'ioredis'
import t from 'tap'
import type { PresenceChange } from '../../plugin/index.js'
import { freePort, startNode, startRedis, uniquePrefix, type TestNode } from '../helpers/redis.js'
import { until } from '../helpers/server.js'
import { appFrames, member, startNodes } from '../helpers/cluster.js'

t.test('Redis killed mid-traffic and restarted: local delivery goes on, failures are counted, the cluster heals by itself', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const nodes = await startNodes(t, ['a', 'b'], {
    redis: () => redis.client(),
    keyPrefix: uniquePrefix('outage'),
    heartbeatInterval: 300,
    requestTimeout: 5_000,
    presenceEvents: true,
  })
  const [a, b] = nodes as [TestNode, TestNode]
  const seen: Array<PresenceChange & { node: string }> = []
  for (const node of nodes) node.app.roomcast.addHook('presence', (change) => void seen.push({ node: node.nodeId, ...change }))
  const annA = await member(t, a, 'ann', ['room'])
  const amyA = await member(t, a, 'amy', ['room'])
  const benB = await member(t, b, 'ben', ['room'])
  await Promise.all(nodes.map((node) => node.adapter.settled()))
  t.equal(seen.length, 3, 'ann, amy and ben joined')

  a.app.roomcast.rooms.to('room').emit('chat', { n: 1 })
  t.same(await benB.client.next('chat'), { event: 'chat', data: { n: 1 }, room: 'room' }, 'cross-node delivery before the outage')

  // Redis dies.
  await redis.kill()
  await until(() => !a.adapter.stats.connected && !b.adapter.stats.connected, 5_000, 'both nodes notice')
  const failuresBefore = a.adapter.stats.publishFailures

  a.app.roomcast.rooms.to('room').emit('chat', { n: 2 })
  t.same(await annA.client.next((f) => f.event === 'chat' && f.data.n === 2), { event: 'chat', data: { n: 2 }, room: 'room' }, 'local delivery keeps working')
  t.same(await amyA.client.next((f) => f.event === 'chat' && f.data.n === 2), { event: 'chat', data: { n: 2 }, room: 'room' })
  t.equal(a.adapter.stats.publishFailures, failuresBefore + 1, 'the cross-node publish failed visibly and was counted')

  const partial = await a.app.roomcast.query({ type: 'roomMembers', room: 'room' })
  t.same(partial.value.map((m) => m.userId).sort(), ['amy', 'ann'], 'queries answer with what this node has')
  t.same(partial.answered, ['a'])
  t.same(partial.missing, ['b'], 'and name the node they could not reach, at once')

  // A user arrives while Redis is away: presence cannot be decided yet.
  const carlB = await member(t, b, 'carl', ['room'])
  t.ok(b.adapter.stats.presenceFailures >= 1, 'the presence update failed and was counted')
  t.equal(seen.length, 3, 'no presence event without Redis')

  // Redis comes back, empty (no persistence), on the same port.
  await redis.restart()
  await until(() => a.adapter.stats.connected && b.adapter.stats.connected, 10_000, 'both nodes reconnect')
  await until(() => a.adapter.stats.liveNodes === 1 && b.adapter.stats.liveNodes === 1, 10_000, 'the nodes find each other again')
  await until(() => seen.length === 4, 10_000, "carl's join, replayed")
  await Promise.all(nodes.map((node) => node.adapter.settled()))
  t.same(seen[3], { node: 'b', room: 'room', userId: 'carl', action: 'join' }, 'the missed join is emitted once Redis is back')
  t.equal(seen.length, 4, 'users announced before the outage are re-announced quietly, not joined twice')

  a.app.roomcast.rooms.to('room').emit('chat', { n: 3 })
  b.app.roomcast.rooms.to('room').emit('chat', { n: 4 })
  t.same(await benB.client.next((f) => f.event === 'chat' && f.data.n === 3), { event: 'chat', data: { n: 3 }, room: 'room' }, 'cross-node delivery resumed')
  t.same(
    await carlB.client.next((f) => f.event === 'chat' && f.data.n === 3),
    { event: 'chat', data: { n: 3 }, room: 'room' },
    'also to the room joined during the outage',
  )
  t.same(await annA.client.next((f) => f.event === 'chat' && f.data.n === 4), { event: 'chat', data: { n: 4 }, room: 'room' }, 'in both directions')
  b.app.roomcast.rooms.to('room').emit('chat', { n: 5 })
  await benB.client.next((f) => f.event === 'chat' && f.data.n === 5)
  await annA.client.next((f) => f.event === 'chat' && f.data.n === 5)
  t.same(
    appFrames(benB.client, 'chat')
      .map((f) => f.data.n)
      .sort(),
    [1, 3, 4, 5],
    'what failed during the outage was dropped, not queued and replayed',
  )

  const whole = await a.app.roomcast.query({ type: 'roomMembers', room: 'room' })
  t.same(whole.value.map((m) => m.userId).sort(), ['amy', 'ann', 'ben', 'carl'])
  t.same(whole.missing, [])
})

t.test('a node started while Redis is down runs locally, then joins the cluster when Redis appears', async (t) => {
  const port = await freePort()
  const keyPrefix = uniquePrefix('late')
  const template = new Redis({ host: '127.0.0.1', port, retryStrategy: () => 50, disconnectTimeout: 100 })
  template.on('error', () => {})
  t.teardown(() => template.disconnect())
  const late = await startNode({ redis: template, keyPrefix, nodeId: 'late', heartbeatInterval: 300, connectTimeout: 200 })
  t.teardown(() => late.app.close())
  t.equal(late.adapter.stats.connected, false)
  const ann = await member(t, late, 'ann', ['room'])
  late.app.roomcast.rooms.to('room').emit('chat', { n: 1 })
  t.same(await ann.client.next('chat'), { event: 'chat', data: { n: 1 }, room: 'room' }, 'local delivery without Redis')

  const redis = await startRedis(port)
  t.teardown(() => redis.stop())
  await until(() => late.adapter.stats.connected, 10_000, 'the late node connects')
  const other = await startNode({ redis: redis.client(), keyPrefix, nodeId: 'other', heartbeatInterval: 300 })
  t.teardown(() => other.app.close())
  await until(() => late.adapter.stats.liveNodes === 1 && other.adapter.stats.liveNodes === 1, 10_000, 'the nodes find each other')
  await late.adapter.settled()
  other.app.roomcast.rooms.to('room').emit('chat', { n: 2 })
  t.same(
    await ann.client.next((f) => f.data?.n === 2),
    { event: 'chat', data: { n: 2 }, room: 'room' },
    'the subscriptions made before Redis existed are in place',
  )
  t.same(await other.app.roomcast.rooms.users('room'), ['ann'])
})
