import { Redis } from 'ioredis'
import t from 'tap'
import { Emitter } from '../../plugin/index.js'
import { startRedisCluster, uniquePrefix } from '../helpers/redis.js'
import { deliveryScenario, startNodes } from '../helpers/cluster.js'

t.test('Redis Cluster: deliveries over sharded pub/sub', async (t) => {
  const cluster = await startRedisCluster()
  t.teardown(() => cluster.stop())
  const keyPrefix = uniquePrefix('cluster')
  const nodes = await startNodes(t, ['a', 'b', 'c'], { redis: () => cluster.client(), keyPrefix })
  const seen: string[] = []
  for (const node of nodes) node.app.roomcast.addHook('presence', (change) => void seen.push(`${node.nodeId}:${change.userId}:${change.room}:${change.action}`))
  const [, benB, annC, danC] = await deliveryScenario(t, nodes)

  // Presence and queries: Lua scripts and keys spread over the shards.
  await Promise.all(nodes.map((node) => node.adapter.settled()))
  t.same(seen.sort(), ['a:ann:lobby:join', 'b:ben:lobby:join', 'b:ben:side:join', 'c:ann:side:join'])
  t.same((await nodes[2]!.app.roomcast.rooms.users('lobby')).sort(), ['ann', 'ben'])
  const count = await nodes[0]!.app.roomcast.query({ type: 'connectionCount' })
  t.same({ ...count, answered: [...count.answered].sort() }, { value: 4, answered: ['a', 'b', 'c'], missing: [] })

  // The standalone Emitter publishes with SPUBLISH through a Cluster client.
  const emitter = new Emitter({ redis: cluster.client(), keyPrefix })
  emitter.to('side').emit('chat', { n: 10 })
  emitter.toUser('dan').emit('dm', { n: 11 })
  await emitter.flush()
  t.same(emitter.stats, { published: 2, publishFailures: 0 })
  t.same(await benB!.client.next((f) => f.data?.n === 10), { event: 'chat', data: { n: 10 }, room: 'side' })
  t.same(await annC!.client.next((f) => f.data?.n === 10), { event: 'chat', data: { n: 10 }, room: 'side' })
  t.same(await danC!.client.next((f) => f.data?.n === 11), { event: 'dm', data: { n: 11 } })

  // The traffic really is sharded: every channel is a shard channel, the room channels count
  // their subscribers (lobby: a and b; side: b and c), and the nodes' channels spread over the
  // shards instead of piling on one.
  const prefix = nodes[0]!.adapter.keyPrefix
  let roomSubscribers = 0
  let shardsInUse = 0
  for (const port of cluster.ports) {
    const redis = new Redis({ host: '127.0.0.1', port })
    t.teardown(() => redis.disconnect())
    const reply = (await redis.call('PUBSUB', 'SHARDNUMSUB', `${prefix}:r:lobby`, `${prefix}:r:side`)) as Array<string | number>
    roomSubscribers += Number(reply[1]) + Number(reply[3])
    const channels = (await redis.call('PUBSUB', 'SHARDCHANNELS', `${prefix}:*`)) as string[]
    if (channels.length > 0) shardsInUse++
    t.same(await redis.call('PUBSUB', 'CHANNELS', `${prefix}:*`), [], 'no classic pub/sub channel is used')
  }
  t.equal(roomSubscribers, 4, 'each room channel has the subscribers of the nodes with members')
  t.ok(shardsInUse >= 2, `channels spread over ${shardsInUse} shards`)
})
