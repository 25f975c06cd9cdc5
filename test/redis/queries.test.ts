import t from 'tap'
import { startRedis, uniquePrefix } from '../helpers/redis.js'
import { until } from '../helpers/server.js'
import { member, startNodes } from '../helpers/cluster.js'

const byConnection = (a: { connectionId: string }, b: { connectionId: string }): number => a.connectionId.localeCompare(b.connectionId)

t.test('cluster-wide queries and actions across three nodes', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const [a, b, c] = await startNodes(t, ['a', 'b', 'c'], { redis: () => redis.client(), keyPrefix: uniquePrefix('queries') })
  const annA = await member(t, a!, 'ann', ['lobby'])
  const benB = await member(t, b!, 'ben', ['lobby', 'side'])
  const annC = await member(t, c!, 'ann', ['lobby'])
  const danC = await member(t, c!, 'dan')

  // Reads, asked from a node that holds only part of the answer.
  const members = await c!.app.roomcast.query({ type: 'roomMembers', room: 'lobby' })
  t.same(
    [...members.value].sort(byConnection),
    [
      { connectionId: annA.id, userId: 'ann' },
      { connectionId: benB.id, userId: 'ben' },
      { connectionId: annC.id, userId: 'ann' },
    ].sort(byConnection),
    'room members from every node',
  )
  t.same([...members.answered].sort(), ['a', 'b', 'c'])
  t.same(members.missing, [])
  t.same((await b!.app.roomcast.rooms.users('lobby')).sort(), ['ann', 'ben'], 'users deduplicated across nodes')
  t.equal(await a!.app.roomcast.rooms.size('lobby'), 3)
  t.equal(await a!.app.roomcast.rooms.size('side'), 1)
  t.equal(await a!.app.roomcast.rooms.size('nowhere'), 0)
  t.same((await b!.app.roomcast.users.connectionsOf('ann')).sort(), [annA.id, annC.id].sort(), "a user's connections on two other nodes")
  t.equal(await b!.app.roomcast.users.online('dan'), true)
  t.equal(await b!.app.roomcast.users.online('zed'), false)
  t.same((await a!.app.roomcast.rooms.list()).sort(), ['lobby', 'side'], 'all rooms, once each')
  t.equal(await a!.app.roomcast.connections.countAll(), 4)
  const nodes = await b!.app.roomcast.query({ type: 'nodes' })
  t.same(
    [...nodes.value].sort((x, y) => x.nodeId.localeCompare(y.nodeId)),
    [
      { nodeId: 'a', connections: 1, rooms: 1 },
      { nodeId: 'b', connections: 1, rooms: 2 },
      { nodeId: 'c', connections: 2, rooms: 1 },
    ],
    'the node list with each node’s counts',
  )

  // Actions on connections and users held by other nodes.
  t.equal(await a!.app.roomcast.rooms.join(danC.id, 'vip'), 1, 'a connection on another node joins a room')
  t.equal(await a!.app.roomcast.rooms.join('no-such-connection', 'vip'), 0)
  await c!.adapter.settled()
  b!.app.roomcast.rooms.to('vip').emit('news', { n: 1 })
  t.same(await danC.client.next('news'), { event: 'news', data: { n: 1 }, room: 'vip' }, 'and receives what is sent to it from a third node')
  t.equal(await b!.app.roomcast.users.join('ann', 'vip'), 2, "both of a user's connections, on two nodes, join")
  t.same((await c!.app.roomcast.rooms.users('vip')).sort(), ['ann', 'dan'])
  t.equal(await c!.app.roomcast.users.leave('ann', ['vip', 'lobby']), 2)
  t.same(await a!.app.roomcast.rooms.users('lobby'), ['ben'])
  t.equal(await b!.app.roomcast.rooms.leave(danC.id, 'vip'), 1)
  t.same(await a!.app.roomcast.rooms.list().then((rooms) => rooms.sort()), ['lobby', 'side'])

  t.equal(await a!.app.roomcast.connections.disconnect(benB.id, 4100, 'bye ben'), 1, 'a connection on another node is closed')
  t.same(await benB.client.whenClosed(), { code: 4100, reason: 'bye ben' })
  t.equal(await b!.app.roomcast.users.disconnect('ann'), 2, 'every connection of a user, wherever it is')
  t.same(await annA.client.whenClosed(), { code: 4004, reason: 'disconnected by the server' })
  t.same(await annC.client.whenClosed(), { code: 4004, reason: 'disconnected by the server' })
  await until(async () => (await a!.app.roomcast.connections.countAll()) === 1, 5_000, 'only dan is left')
  t.same(await c!.app.roomcast.rooms.list(), [])
  t.equal(danC.client.closed, undefined)

  for (const node of [a!, b!, c!]) t.equal(node.adapter.stats.partialAnswers, 0, `${node.nodeId}: every answer was complete`)

  // An action on a connection of the asking node itself needs no other node.
  const queriesBefore = c!.adapter.stats.queries
  t.same(await c!.app.roomcast.query({ type: 'disconnect', target: { kind: 'connections', ids: [danC.id] }, code: 4100, reason: 'local' }), {
    value: 1,
    answered: ['c'],
    missing: [],
  })
  t.same(await danC.client.whenClosed(), { code: 4100, reason: 'local' })
  t.equal(c!.adapter.stats.queries, queriesBefore, 'nothing went over Redis')
})

t.test('a query waits at most requestTimeout and names the nodes that did not answer', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const [a, b] = await startNodes(t, ['a', 'b'], {
    redis: () => redis.client(),
    keyPrefix: uniquePrefix('timeout'),
    requestTimeout: 300,
    heartbeatInterval: 10_000,
  })
  await member(t, a!, 'ann', ['lobby'])
  await member(t, b!, 'ben', ['lobby'])

  // b stays in the registry (its heartbeat is long) but answers nothing: its bus connections are cut.
  b!.adapter.disconnectAbruptly()
  const answer = await a!.app.roomcast.query({ type: 'roomMembers', room: 'lobby' })
  t.same(
    answer.value.map((m) => m.userId),
    ['ann'],
    'what arrived: the local part',
  )
  t.same(answer.answered, ['a'])
  t.same(answer.missing, ['b'], 'and who did not answer')
  t.equal(a!.adapter.stats.partialAnswers, 1)
  t.same(await b!.app.roomcast.query({ type: 'connectionCount' }), { value: 1, answered: ['b'], missing: ['a'] }, 'the cut-off node answers alone and says so')
})
