import { Redis } from 'ioredis'
import t from 'tap'
import { startRedis, uniquePrefix, type TestNode } from '../helpers/redis.js'
import { until } from '../helpers/server.js'
import { member, startNodes } from '../helpers/cluster.js'

/**
 * A node listens only to what it needs: the broadcast and control channels, its own answer
 * channel, and the channels of the rooms, users and connections it holds, subscribed when the
 * first local member appears and unsubscribed when the last one leaves.
 */
t.test('per-room, per-user and per-connection channels follow local membership', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const keyPrefix = uniquePrefix('interest')
  const nodes = await startNodes(t, ['a', 'b'], { redis: () => redis.client(), keyPrefix })
  const [a, b] = nodes as [TestNode, TestNode]
  const probe = new Redis({ host: '127.0.0.1', port: redis.port })
  t.teardown(() => probe.disconnect())
  const channels = async (kind: string): Promise<string[]> => ((await probe.pubsub('CHANNELS', `${keyPrefix}:${kind}*`)) as string[]).sort()
  const subscribers = async (channel: string): Promise<number> => Number(((await probe.pubsub('NUMSUB', channel)) as Array<string | number>)[1])
  const settled = (): Promise<unknown> => Promise.all(nodes.map((node) => node.adapter.settled()))

  t.same(await channels('r:'), [], 'no room yet, no room channel')
  t.equal(await subscribers(`${keyPrefix}:all`), 2, 'both nodes listen for broadcasts')
  t.equal(await subscribers(`${keyPrefix}:ctl`), 2, 'and for control messages')
  t.equal((await channels('node:')).length, 2, 'each on its own answer channel')

  const ann = await member(t, a, 'ann', ['lobby', 'side'])
  const ann2 = await member(t, a, 'ann', ['lobby'])
  const ben = await member(t, b, 'ben', ['lobby'])
  t.same(await channels('r:'), [`${keyPrefix}:r:lobby`, `${keyPrefix}:r:side`])
  t.equal(await subscribers(`${keyPrefix}:r:lobby`), 2, 'one subscription per node, however many local members')
  t.equal(await subscribers(`${keyPrefix}:r:side`), 1)
  t.same(await channels('u:'), [`${keyPrefix}:u:ann`, `${keyPrefix}:u:ben`])
  t.same(await channels('c:'), [ann.id, ann2.id, ben.id].map((id) => `${keyPrefix}:c:${id}`).sort())

  t.same((await ann.client.request('leave', { rooms: ['side'] })).data, { left: ['side'] })
  t.same((await ann.client.request('leave', { rooms: ['lobby'] })).data, { left: ['lobby'] })
  await settled()
  t.same(await channels('r:'), [`${keyPrefix}:r:lobby`], 'the last local member of side left: unsubscribed')
  t.equal(await subscribers(`${keyPrefix}:r:lobby`), 2, 'a still has ann2 in the lobby')

  ann2.client.close()
  ben.client.close()
  await until(() => a.app.roomcast.connections.count() === 1 && b.app.roomcast.connections.count() === 0, 5_000, 'sockets gone')
  await settled()
  t.same(await channels('r:'), [], 'nobody left in any room anywhere')
  t.same(await channels('u:'), [`${keyPrefix}:u:ann`], "ann's first socket is still on a")
  t.same(await channels('c:'), [`${keyPrefix}:c:${ann.id}`])
  t.same(a.adapter.stats.subscriptions, 5, 'a: all, ctl, its answer channel, u:ann, c:<ann>')

  await a.app.close()
  t.same(await channels(''), [`${keyPrefix}:all`, `${keyPrefix}:ctl`, ...(await channels('node:'))].sort(), 'a closed: only b is left listening')
  t.equal(await subscribers(`${keyPrefix}:all`), 1)
})

t.test('a SUBSCRIBE refused while the connection stays up is sent again until it goes through', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const keyPrefix = uniquePrefix('resubscribe')
  const probe = new Redis({ host: '127.0.0.1', port: redis.port })
  t.teardown(() => probe.disconnect())
  // Node a's Redis user may listen to everything but room channels, until told otherwise.
  const everythingButRooms = ['all', 'ctl', 'node:*', 'u:*', 'c:*'].map((name) => `&${keyPrefix}:${name}`)
  await probe.call('ACL', 'SETUSER', 'limited', 'on', '>secret', '~*', '+@all', 'resetchannels', ...everythingButRooms)
  const [a] = await startNodes(t, ['a'], { redis: () => redis.client({ username: 'limited', password: 'secret' }), keyPrefix })
  const [b] = await startNodes(t, ['b'], { redis: () => redis.client(), keyPrefix })
  await until(() => a!.adapter.stats.liveNodes === 1 && b!.adapter.stats.liveNodes === 1, 5_000, 'the nodes see each other')
  const subscribers = async (channel: string): Promise<number> => Number(((await probe.pubsub('NUMSUB', channel)) as Array<string | number>)[1])

  const ann = await member(t, a!, 'ann', ['lobby'])
  t.equal(await subscribers(`${keyPrefix}:r:lobby`), 0, 'Redis refused the room channel (NOPERM); the connection stays up')
  t.equal(a!.adapter.stats.connected, true)

  await probe.call('ACL', 'SETUSER', 'limited', `&${keyPrefix}:r:*`)
  await until(async () => (await subscribers(`${keyPrefix}:r:lobby`)) === 1, 5_000, 'the SUBSCRIBE sent again')
  b!.app.roomcast.rooms.to('lobby').emit('hello', { from: 'b' })
  await ann.client.next('hello')
  t.pass('a delivery from the other node arrives')
})
