import type { PresenceChannel } from 'pusher-js'
import t, { type Test } from 'tap'
import { redisAdapter, redisChannelCache, type RedisAdapter } from '../../plugin/index.js'
import { startRedis, uniquePrefix, type RedisServer } from '../helpers/redis.js'
import { until } from '../helpers/server.js'
import { APP, connected, once, onceWithMeta, pusherJs, startPusherServer, whenState, type PusherServer } from '../helpers/pusher.js'

interface Node extends PusherServer {
  adapter: RedisAdapter
  events: Array<[string, string, string, unknown?]>
}

/** A Pusher node on a Redis adapter; it records the channel events it raises (as webhooks would). */
async function startNode(t: Test, redis: RedisServer, keyPrefix: string, nodeId: string, heartbeatInterval = 1_000): Promise<Node> {
  const adapter = redisAdapter({ redis: redis.client(), keyPrefix, heartbeatInterval, requestTimeout: 2_000 })
  const server = await startPusherServer({
    nodeId,
    adapter,
    pusher: { apps: [APP], cache: redisChannelCache({ redis: redis.client(), prefix: `${keyPrefix}:cache:` }) },
  })
  t.teardown(() => server.app.close())
  const events: Node['events'] = []
  const pusher = server.app.roomcast.pusher!
  for (const name of ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed'] as const) {
    pusher.on(name, (event: { channel: string; userId?: unknown }) => {
      events.push(event.userId === undefined ? [nodeId, name, event.channel] : [nodeId, name, event.channel, event.userId])
    })
  }
  return { ...server, adapter, events }
}

async function twoNodes(t: Test, name: string, heartbeatInterval?: number): Promise<[Node, Node]> {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const keyPrefix = uniquePrefix(name)
  const a = await startNode(t, redis, keyPrefix, 'a', heartbeatInterval)
  const b = await startNode(t, redis, keyPrefix, 'b', heartbeatInterval)
  await until(() => a.adapter.stats.liveNodes === 1 && b.adapter.stats.liveNodes === 1, 5_000, 'the nodes see each other')
  return [a, b]
}

const person = (id: string) => () => ({ user_id: id, user_info: { name: id } })

t.test('two nodes: presence deduplicated across nodes, client and server events, cluster queries', async (t) => {
  const [a, b] = await twoNodes(t, 'pusher-presence')
  const ann = pusherJs(a, { presence: person('ann') })
  const bob = pusherJs(b, { presence: person('bob') })
  const bobTab = pusherJs(a, { presence: person('bob') })
  t.teardown(() => [ann, bob, bobTab].forEach((client) => client.disconnect()))
  await Promise.all([ann, bob, bobTab].map(connected))

  const annRoom = ann.subscribe('presence-lobby') as PresenceChannel
  await once(annRoom, 'pusher:subscription_succeeded')
  const bobArrives = once(annRoom, 'pusher:member_added')
  const bobRoom = bob.subscribe('presence-lobby') as PresenceChannel
  await once(bobRoom, 'pusher:subscription_succeeded')
  t.same(await bobArrives, { id: 'bob', info: { name: 'bob' } }, 'ann on a hears of bob on b')
  t.equal(bobRoom.members.count, 2, 'bob on b sees ann on a')

  let duplicates = 0
  annRoom.bind('pusher:member_added', () => duplicates++)
  const tabRoom = bobTab.subscribe('presence-lobby') as PresenceChannel
  await once(tabRoom, 'pusher:subscription_succeeded')
  t.equal(tabRoom.members.count, 2, "bob's second socket, on the other node, is the same member")

  // Client event from b: ann (a) and bob's other socket (a) get it, with the sender's user id.
  const annHears = onceWithMeta(annRoom, 'client-hi')
  const tabHears = onceWithMeta(tabRoom, 'client-hi')
  bobRoom.trigger('client-hi', { text: 'from b' })
  t.same(await annHears, { data: { text: 'from b' }, metadata: { user_id: 'bob' } })
  t.same(await tabHears, { data: { text: 'from b' }, metadata: { user_id: 'bob' } })

  // Server events from either node reach every node's pusher-js clients.
  const onB = once(bobRoom, 'news')
  await a.app.roomcast.pusher!.trigger(APP.id, ['presence-lobby'], 'news', { from: 'a' })
  t.same(await onB, { from: 'a' })
  const onA = once(annRoom, 'flash')
  await b.app.roomcast.pusher!.trigger(APP.id, ['presence-lobby'], 'flash', { from: 'b' })
  t.same(await onA, { from: 'b' })

  const members = await a.app.roomcast.pusher!.members(APP.id, 'presence-lobby')
  t.same(members.missing, [])
  t.same(members.value.map((m) => m.user_id).sort(), ['ann', 'bob'])
  t.same(await b.app.roomcast.pusher!.channelInfo(APP.id, 'presence-lobby'), { occupied: true, subscriptionCount: 3, userCount: 2, missing: [] })

  // Bob leaves on b: his socket on a keeps him present. Then that one goes too.
  let removedEarly = 0
  annRoom.bind('pusher:member_removed', () => removedEarly++)
  bob.unsubscribe('presence-lobby')
  await until(async () => (await a.app.roomcast.pusher!.channelInfo(APP.id, 'presence-lobby')).subscriptionCount === 2, 5_000, 'bob left on b')
  await b.adapter.settled()
  t.equal(removedEarly, 0)
  annRoom.unbind('pusher:member_removed')
  const gone = once(annRoom, 'pusher:member_removed')
  bobTab.unsubscribe('presence-lobby')
  t.same(await gone, { id: 'bob', info: { name: 'bob' } })
  t.equal(duplicates, 0, 'no second member_added for bob')

  await Promise.all([a.adapter.settled(), b.adapter.settled()])
  const memberEvents = [...a.events, ...b.events].filter(([, name]) => name.startsWith('member_')).map(([, name, channel, id]) => [name, channel, id])
  t.same(
    memberEvents.sort(),
    [
      ['member_added', 'presence-lobby', 'ann'],
      ['member_added', 'presence-lobby', 'bob'],
      ['member_removed', 'presence-lobby', 'bob'],
    ],
    'each member event is raised once in the cluster',
  )
})

t.test('two nodes: channel_occupied and channel_vacated once for the cluster', async (t) => {
  const [a, b] = await twoNodes(t, 'pusher-occupancy')
  const one = pusherJs(a)
  const two = pusherJs(b)
  t.teardown(() => [one, two].forEach((client) => client.disconnect()))
  await Promise.all([one, two].map(connected))
  await once(one.subscribe('room-1'), 'pusher:subscription_succeeded')
  await once(two.subscribe('room-1'), 'pusher:subscription_succeeded')
  // b's arrival must have reached Redis before a's departure, or the two are concurrent and
  // "vacated on a, occupied again on b" is an equally true account of them.
  await Promise.all([a.adapter.settled(), b.adapter.settled()])
  one.unsubscribe('room-1')
  await until(async () => (await b.app.roomcast.pusher!.channelInfo(APP.id, 'room-1')).subscriptionCount === 1, 5_000, 'one left')
  await a.adapter.settled()
  two.unsubscribe('room-1')
  await until(() => [...a.events, ...b.events].some(([, name]) => name === 'channel_vacated'), 5_000, 'vacated')
  await Promise.all([a.adapter.settled(), b.adapter.settled()])
  t.same(
    [...a.events, ...b.events],
    [
      ['a', 'channel_occupied', 'room-1'],
      ['b', 'channel_vacated', 'room-1'],
    ],
  )
})

t.test('two nodes: user delivery, termination and cache channels across nodes', async (t) => {
  const [a, b] = await twoNodes(t, 'pusher-users')
  const onA = pusherJs(a, { user: { id: 'u1' } })
  const onB = pusherJs(b, { user: { id: 'u1' } })
  t.teardown(() => [onA, onB].forEach((client) => client.disconnect()))
  await Promise.all([onA, onB].map(connected))
  onA.signin()
  onB.signin()
  await until(() => [onA, onB].every((c) => c.user.serverToUserChannel?.subscribed === true), 5_000, 'signed in on both nodes')

  const gotA = once(onA.user, 'note')
  const gotB = once(onB.user, 'note')
  await a.app.roomcast.pusher!.sendToUser(APP.id, 'u1', 'note', { n: 1 })
  t.same(await Promise.all([gotA, gotB]), [{ n: 1 }, { n: 1 }])

  // Cache channels share their last event through Redis.
  await a.app.roomcast.pusher!.trigger(APP.id, ['cache-board'], 'score', { home: 2 })
  t.same(await once(onB.subscribe('cache-board'), 'score'), { home: 2 }, 'replayed on the other node')

  const ended = [whenState(onA, 'disconnected'), whenState(onB, 'disconnected')]
  const answer = await b.app.roomcast.pusher!.terminateUserConnections(APP.id, 'u1')
  t.equal(answer.value, 2)
  t.same(answer.missing, [])
  await Promise.all(ended)
})

t.test('a node dies: the others remove its presence members once and stop counting them', async (t) => {
  const heartbeatInterval = 300
  const [a, b] = await twoNodes(t, 'pusher-death', heartbeatInterval)
  const ann = pusherJs(a, { presence: person('ann') })
  const dave = pusherJs(b, { presence: person('dave') })
  t.teardown(() => [ann, dave].forEach((client) => client.disconnect()))
  await Promise.all([ann, dave].map(connected))
  const annRoom = ann.subscribe('presence-p') as PresenceChannel
  await once(annRoom, 'pusher:subscription_succeeded')
  const daveArrives = once(annRoom, 'pusher:member_added')
  await once(dave.subscribe('presence-p'), 'pusher:subscription_succeeded')
  await daveArrives
  await Promise.all([a.adapter.settled(), b.adapter.settled()])

  const daveLeaves = once(annRoom, 'pusher:member_removed')
  const diedAt = Date.now()
  b.adapter.disconnectAbruptly()
  t.same(await daveLeaves, { id: 'dave', info: { name: 'dave' } }, 'ann is told dave is gone')
  // The promise is two heartbeat intervals; four leaves room for a loaded machine.
  const elapsed = Date.now() - diedAt
  t.ok(elapsed < 4 * heartbeatInterval, `dave left ${elapsed} ms after b died (heartbeat interval ${heartbeatInterval} ms)`)
  t.equal(annRoom.members.count, 1)
  await until(() => a.adapter.stats.liveNodes === 0, 5_000, 'a forgets b')
  const members = await a.app.roomcast.pusher!.members(APP.id, 'presence-p')
  t.same(members.value, [{ user_id: 'ann', user_info: { name: 'ann' } }])
  t.same(
    a.events.filter(([, name]) => name === 'member_removed'),
    [['a', 'member_removed', 'presence-p', 'dave']],
  )
})
