import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import type { PresenceChange } from '../../plugin/index.js'
import { Keyspace } from '../../plugin/adapter/redis/keyspace.js'
import { PresenceStore } from '../../plugin/adapter/redis/presence.js'
import { startRedis, uniquePrefix, type TestNode } from '../helpers/redis.js'
import { until, type RawClient } from '../helpers/server.js'
import { member, startNodes } from '../helpers/cluster.js'

type Seen = PresenceChange & { node: string }

/** Records the `presence` hook of every node. */
function recordPresence(nodes: TestNode[]): Seen[] {
  const seen: Seen[] = []
  for (const node of nodes) node.app.roomcast.addHook('presence', (change) => void seen.push({ node: node.nodeId, ...change }))
  return seen
}

async function settled(nodes: TestNode[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.adapter.settled()))
}

function presenceFrames(client: RawClient): unknown[] {
  return client.frames.filter((frame) => frame.event === 'presence').map((frame) => frame.data)
}

t.test('presence is cluster-wide: one join for the first socket anywhere, one leave for the last', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const nodes = await startNodes(t, ['a', 'b', 'c'], { redis: () => redis.client(), keyPrefix: uniquePrefix('presence'), presenceEvents: true })
  const [a, b, c] = nodes as [TestNode, TestNode, TestNode]
  const seen = recordPresence(nodes)

  const carl = await member(t, c, 'carl', ['p'])
  const annA = await member(t, a, 'ann', ['p'])
  await settled(nodes)
  const annB = await member(t, b, 'ann', ['p'])
  await settled(nodes)
  t.same(
    seen,
    [
      { node: 'c', room: 'p', userId: 'carl', action: 'join' },
      { node: 'a', room: 'p', userId: 'ann', action: 'join' },
    ],
    "ann's second socket, on another node, is no new presence",
  )

  t.same((await annA.client.request('leave', { rooms: ['p'] })).data, { left: ['p'] })
  await settled(nodes)
  t.equal(seen.length, 2, 'ann is still in the room through her socket on b')
  t.same((await b.app.roomcast.rooms.users('p')).sort(), ['ann', 'carl'])

  t.same((await annB.client.request('leave', { rooms: ['p'] })).data, { left: ['p'] })
  await until(() => seen.length === 3, 5_000, 'the leave')
  await settled(nodes)
  t.same(seen[2], { node: 'b', room: 'p', userId: 'ann', action: 'leave' }, 'the last socket anywhere: one leave')
  t.same(await a.app.roomcast.rooms.users('p'), ['carl'])

  // The room's members got the `presence` events once each, wherever they were emitted.
  await until(() => presenceFrames(carl.client).length === 3, 5_000, 'presence frames')
  t.same(presenceFrames(carl.client), [
    { room: 'p', userId: 'carl', action: 'join' },
    { room: 'p', userId: 'ann', action: 'join' },
    { room: 'p', userId: 'ann', action: 'leave' },
  ])
  t.equal(seen.length, 3)
})

t.test('a dead node: its users leave within two heartbeat intervals, once, and queries stop waiting for it', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const keyPrefix = uniquePrefix('death')
  const heartbeatInterval = 300
  const nodes = await startNodes(t, ['a', 'b', 'c'], { redis: () => redis.client(), keyPrefix, heartbeatInterval, requestTimeout: 5_000, presenceEvents: true })
  const [a, b, c] = nodes as [TestNode, TestNode, TestNode]
  const seen = recordPresence(nodes)
  const carl = await member(t, c, 'carl', ['p'])
  await member(t, b, 'dave', ['p'])
  await member(t, b, 'erin', ['p'])
  await member(t, a, 'erin', ['p'])
  await settled(nodes)
  t.equal(seen.length, 3, 'carl, dave and erin joined')

  // b crashes: no goodbye, no clean-up, its connections to Redis cut.
  const diedAt = Date.now()
  b.adapter.disconnectAbruptly()
  await until(() => seen.some((change) => change.userId === 'dave' && change.action === 'leave'), 5_000, "dave's leave")
  // The promise is two intervals (typically about 1.5); four leaves room for a loaded machine
  // while still failing if members only went away through some much slower path.
  const elapsed = Date.now() - diedAt
  t.ok(elapsed < 4 * heartbeatInterval, `dave left ${elapsed} ms after b died (heartbeat interval ${heartbeatInterval} ms)`)

  // The clean-up is finished once the claim is released; then every event is in.
  const probe = new Redis({ host: '127.0.0.1', port: redis.port })
  t.teardown(() => probe.disconnect())
  await until(
    async () => (await probe.zrange(`${keyPrefix}:nodes`, '0', '-1')).every((m) => !m.startsWith('reap:') && !m.endsWith(' b')),
    5_000,
    'the registry forgets b',
  )
  await settled([a, c])
  const leaves = seen.filter((change) => change.action === 'leave')
  t.equal(leaves.length, 1, 'exactly one leave, emitted by one survivor')
  t.same({ ...leaves[0], node: 'a or c' }, { node: 'a or c', room: 'p', userId: 'dave', action: 'leave' })
  t.not(leaves[0]!.node, 'b')
  t.same(
    (await probe.keys(`${keyPrefix}:presence:*`)).sort(),
    [`${keyPrefix}:presence:p:carl`, `${keyPrefix}:presence:p:erin`],
    "b's entries are gone; erin stays through a",
  )
  t.equal(await probe.exists(`${keyPrefix}:node:*`), 0)

  await until(() => presenceFrames(carl.client).length === 4, 5_000, 'presence frames')
  t.same(presenceFrames(carl.client)[3], { room: 'p', userId: 'dave', action: 'leave' }, 'the room was told')

  // Once the survivors' registries have dropped b (at their next heartbeat), queries no longer
  // wait for it (their timeout is 5 s; they answer at once) and miss nobody.
  await until(() => a.adapter.stats.liveNodes === 1 && c.adapter.stats.liveNodes === 1, 5_000, 'a and c see only each other')
  const answer = await a.app.roomcast.query({ type: 'roomMembers', room: 'p' })
  t.same([...answer.answered].sort(), ['a', 'c'])
  t.same(answer.missing, [])
  t.same((await a.app.roomcast.rooms.users('p')).sort(), ['carl', 'erin'])
})

t.test('a node closing cleanly: its users leave at once, and it says goodbye', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const keyPrefix = uniquePrefix('goodbye')
  // A long heartbeat: nothing here may wait for a node to time out.
  const nodes = await startNodes(t, ['a', 'b'], {
    redis: () => redis.client(),
    keyPrefix,
    heartbeatInterval: 60_000,
    requestTimeout: 10_000,
    presenceEvents: true,
  })
  const [a, b] = nodes as [TestNode, TestNode]
  const seen = recordPresence(nodes)
  const carl = await member(t, a, 'carl', ['p'])
  await member(t, b, 'dave', ['p'])
  await settled(nodes)

  await b.app.close()
  t.same(seen.slice(2), [{ node: 'b', room: 'p', userId: 'dave', action: 'leave' }], "dave's leave went out while b shut down")
  await until(() => presenceFrames(carl.client).length === 3, 5_000, 'presence frames')
  t.same(presenceFrames(carl.client)[2], { room: 'p', userId: 'dave', action: 'leave' })
  await until(() => a.adapter.stats.liveNodes === 0, 5_000, 'the goodbye')
  t.same(await a.app.roomcast.query({ type: 'connectionCount' }), { value: 1, answered: ['a'], missing: [] }, 'queries stop waiting for it at once')

  const probe = new Redis({ host: '127.0.0.1', port: redis.port })
  t.teardown(() => probe.disconnect())
  t.same(await probe.zrange(`${keyPrefix}:nodes`, '0', '-1').then((members) => members.map((m) => m.split(' ')[1])), ['a'], 'b left the registry')
  t.same(await probe.keys(`${keyPrefix}:presence:*`), [`${keyPrefix}:presence:p:carl`])
})

t.test('a node declared dead that was alive after all comes back and re-announces its users', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const keyPrefix = uniquePrefix('undead')
  const probe = new Redis({ host: '127.0.0.1', port: redis.port })
  t.teardown(() => probe.disconnect())
  // a heartbeats often, b rarely: when b's entry looks expired, a is the one to reap it.
  const [a] = await startNodes(t, ['a'], { redis: () => redis.client(), keyPrefix, heartbeatInterval: 200, presenceEvents: true })
  const [b] = await startNodes(t, ['b'], { redis: () => redis.client(), keyPrefix, heartbeatInterval: 2_000, presenceEvents: true })
  const nodes = [a!, b!]
  await until(() => a!.adapter.stats.liveNodes === 1 && b!.adapter.stats.liveNodes === 1, 5_000, 'the nodes see each other')
  const seen = recordPresence(nodes)
  const carl = await member(t, a!, 'carl', ['p'])
  await member(t, b!, 'dave', ['p'])
  await settled(nodes)

  // b stalls long enough to look dead (its entry expires); a reaps it.
  const [entry] = (await probe.zrange(`${keyPrefix}:nodes`, '0', '-1')).filter((m) => m.endsWith(' b'))
  await probe.zadd(`${keyPrefix}:nodes`, '0', entry!)
  await until(() => seen.some((c) => c.userId === 'dave' && c.action === 'leave'), 5_000, "dave's leave")
  await until(() => seen.filter((c) => c.userId === 'dave').length === 3, 5_000, "dave's join again")
  await settled(nodes)
  t.same(
    seen.filter((c) => c.userId === 'dave'),
    [
      { node: 'b', room: 'p', userId: 'dave', action: 'join' },
      { node: 'a', room: 'p', userId: 'dave', action: 'leave' },
      { node: 'b', room: 'p', userId: 'dave', action: 'join' },
    ],
    'the survivor emitted the leave; b, back under a new incarnation, emitted the join again',
  )
  await until(() => presenceFrames(carl.client).length === 4, 5_000, 'presence frames')
  t.same(presenceFrames(carl.client).slice(2), [
    { room: 'p', userId: 'dave', action: 'leave' },
    { room: 'p', userId: 'dave', action: 'join' },
  ])
  const members = await probe.zrange(`${keyPrefix}:nodes`, '0', '-1')
  t.equal(members.filter((m) => m.endsWith(' b')).length, 1, 'b is registered again, once')
  t.not(
    members.find((m) => m.endsWith(' b')),
    entry,
    'under a new incarnation',
  )
  await until(() => a!.adapter.stats.liveNodes === 1, 5_000, 'a counts on b again')
  t.same(await a!.app.roomcast.rooms.users('p').then((users) => users.sort()), ['carl', 'dave'])
})

/** A presence store of its own on a real Redis, as one node incarnation would have it. */
async function presenceStore(t: Test, incarnation: string): Promise<{ store: PresenceStore; probe: Redis; keys: Keyspace }> {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const probe = redis.client()
  const keys = new Keyspace(uniquePrefix('pairs'))
  const store = new PresenceStore(probe, keys, () => incarnation, { changed: () => {} })
  return { store, probe, keys }
}

t.test('a join and the leave right after it reach Redis in order: no member is left behind', async (t) => {
  const { store, probe, keys } = await presenceStore(t, 'inc-1')
  const results = await Promise.all([store.track('room', 'u1', 'join'), store.track('room', 'u1', 'leave')])
  t.same(results, [true, true], 'the join and the leave are both cluster-wide transitions')
  t.same(await probe.smembers(keys.presence('room', 'u1')), [], 'nobody is left in the room')
  t.same(await probe.smembers(keys.presenceRecord('inc-1')), [], 'and the node holds no pair')
  t.equal(store.size, 0)

  // Many rounds at once, on several pairs: every set ends empty.
  await Promise.all(Array.from({ length: 20 }, (_, i) => [store.track('room', `v${i % 4}`, 'join'), store.track('room', `v${i % 4}`, 'leave')]).flat())
  await store.idle()
  t.same(await probe.keys(`${keys.prefix}:presence:*`), [], 'no ghost after a burst of joins and leaves')
})

t.test('join, leave, join in a row: the user is in the room and the record holds the pair', async (t) => {
  const { store, probe, keys } = await presenceStore(t, 'inc-2')
  const results = await Promise.all([store.track('room', 'u', 'join'), store.track('room', 'u', 'leave'), store.track('room', 'u', 'join')])
  t.same(results, [true, true, true])
  t.same(await probe.smembers(keys.presence('room', 'u')), ['inc-2'])
  t.same(await probe.smembers(keys.presenceRecord('inc-2')), [JSON.stringify(['room', 'u'])], 'the reaper would find it if this node died')
  t.equal(store.size, 1)

  // Updates of different pairs do not wait for each other, and each still lands whole.
  const [left] = await Promise.all([store.track('room', 'u', 'leave'), store.track('room', 'w', 'join')])
  t.equal(left, true)
  t.same(await probe.smembers(keys.presence('room', 'u')), [])
  t.same(await probe.smembers(keys.presenceRecord('inc-2')), [JSON.stringify(['room', 'w'])])
})
