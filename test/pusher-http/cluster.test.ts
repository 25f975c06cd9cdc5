import type { PresenceChannel } from 'pusher-js'
import t, { type Test } from 'tap'
import { redisAdapter, type PusherAppConfig, type RedisAdapter } from '../../plugin/index.js'
import { startRedis, uniquePrefix } from '../helpers/redis.js'
import { until } from '../helpers/server.js'
import { APP, connected, once, pusherJs, startPusherServer, whenState, type PusherServer } from '../pusher/helpers.js'
import { eventsOf, webhookReceiver } from './helpers.js'

/** Two nodes over a spawned redis-server: cluster-wide reads, publishes and terminations; webhooks once per cluster. */

interface Node extends PusherServer {
  adapter: RedisAdapter
}

async function twoNodes(t: Test, app: PusherAppConfig, timing = { heartbeatInterval: 1_000, requestTimeout: 2_000 }): Promise<[Node, Node]> {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const keyPrefix = uniquePrefix('pusher-http')
  const start = async (nodeId: string): Promise<Node> => {
    const adapter = redisAdapter({ redis: redis.client(), keyPrefix, ...timing })
    const server = await startPusherServer({ nodeId, adapter, apps: [app], pusher: { apps: [app], webhooks: { retry: { initialDelayMs: 20, maxDelayMs: 40 } } } })
    t.teardown(() => server.app.close())
    return { ...server, adapter }
  }
  const a = await start('a')
  const b = await start('b')
  await until(() => a.adapter.stats.liveNodes === 1 && b.adapter.stats.liveNodes === 1, 5_000, 'the nodes see each other')
  return [a, b]
}

async function settle(nodes: Node[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.adapter.settled()))
  await Promise.all(nodes.map((node) => node.app.roomcast.pusher!.webhooks?.settled()))
}

t.test('occupied, vacated and member events reach the webhook once for the cluster, not once per node', async (t) => {
  const hooks = await webhookReceiver()
  t.teardown(() => hooks.close())
  const [a, b] = await twoNodes(t, { ...APP, webhooks: [{ url: hooks.url }] })
  const one = pusherJs(a, { presence: () => ({ user_id: 'ann' }) })
  const two = pusherJs(b, { presence: () => ({ user_id: 'ann' }) })
  const three = pusherJs(b, { presence: () => ({ user_id: 'bob' }) })
  t.teardown(() => [one, two, three].forEach((client) => client.disconnect()))
  await Promise.all([one, two, three].map(connected))

  await once(one.subscribe('room-1'), 'pusher:subscription_succeeded')
  await once(two.subscribe('room-1'), 'pusher:subscription_succeeded')
  await once(one.subscribe('presence-p') as PresenceChannel, 'pusher:subscription_succeeded')
  await once(two.subscribe('presence-p') as PresenceChannel, 'pusher:subscription_succeeded')
  await once(three.subscribe('presence-p') as PresenceChannel, 'pusher:subscription_succeeded')
  await settle([a, b])
  one.unsubscribe('room-1')
  await until(async () => (await a.app.roomcast.rooms.size('room-1')) === 1, 5_000, 'one left room-1')
  await settle([a, b])
  two.unsubscribe('room-1')
  for (const client of [one, two, three]) client.unsubscribe('presence-p')
  await until(() => eventsOf(hooks).filter((event) => event.name === 'channel_vacated').length === 2, 5_000, 'both channels vacated')
  await settle([a, b])

  const seen = eventsOf(hooks).map((event) => [event.name, event.channel, event.user_id].filter((part) => part !== undefined).join(' '))
  t.same([...seen].sort(), [
    'channel_occupied presence-p',
    'channel_occupied room-1',
    'channel_vacated presence-p',
    'channel_vacated room-1',
    'member_added presence-p ann',
    'member_added presence-p bob',
    'member_removed presence-p ann',
    'member_removed presence-p bob',
  ])
  t.ok(seen.indexOf('channel_occupied room-1') < seen.indexOf('channel_vacated room-1'))
  t.equal(hooks.received.length, 8, 'one request per event')
  for (const request of hooks.received) t.ok(a.sdk().webhook({ headers: request.headers as Record<string, string>, rawBody: request.rawBody }).isValid())
})

t.test('the SDK on one node: reads count both nodes, publishes and terminations reach the other', async (t) => {
  const [a, b] = await twoNodes(t, APP)
  const sdk = a.sdk()
  const onA = pusherJs(a, { presence: () => ({ user_id: 'ann', user_info: { n: 1 } }), user: { id: 'u1' } })
  const onB = pusherJs(b, { presence: () => ({ user_id: 'bob', user_info: { n: 2 } }), user: { id: 'u1' } })
  const bTab = pusherJs(b, { presence: () => ({ user_id: 'ann', user_info: { n: 1 } }) })
  t.teardown(() => [onA, onB, bTab].forEach((client) => client.disconnect()))
  await Promise.all([onA, onB, bTab].map(connected))
  const rooms = [onA, onB, bTab].map((client) => client.subscribe('presence-lobby') as PresenceChannel)
  await Promise.all(rooms.map((room) => once(room, 'pusher:subscription_succeeded')))
  await once(onB.subscribe('news'), 'pusher:subscription_succeeded')
  await settle([a, b])

  const json = async (path: string, params?: Record<string, string>) => (await sdk.get({ path, ...(params === undefined ? {} : { params }) })).json()
  t.same(await json('/channels', { filter_by_prefix: 'presence-', info: 'user_count' }), {
    channels: { 'presence-lobby': { occupied: true, subscription_count: 3, user_count: 2 } },
  })
  t.same(await json('/channels'), {
    channels: { news: { occupied: true, subscription_count: 1 }, 'presence-lobby': { occupied: true, subscription_count: 3 } },
  })
  t.same(await json('/channels/news'), { occupied: true, subscription_count: 1 }, 'a channel only node b has')
  t.same(await json('/channels/presence-lobby'), { occupied: true, subscription_count: 3, user_count: 2 })
  const users = (await json('/channels/presence-lobby/users', { with_user_info: 'true' })) as { users: Array<{ id: string }> }
  t.same(users.users.sort((x, y) => x.id.localeCompare(y.id)), [{ id: 'ann', user_info: { n: 1 } }, { id: 'bob', user_info: { n: 2 } }])

  const got = once(onB.channel('news'), 'flash')
  const published = await sdk.trigger('news', 'flash', { via: 'a' }, { info: 'subscription_count' })
  t.same(await published.json(), { ok: true, channels: { news: { subscription_count: 1 } } })
  t.same(await got, { via: 'a' }, 'published on a, received on b')

  onA.signin()
  onB.signin()
  await until(() => [onA, onB].every((client) => client.user.serverToUserChannel?.subscribed === true), 5_000, 'signed in on both nodes')
  const notes = [once(onA.user, 'note'), once(onB.user, 'note')]
  await b.sdk().sendToUser('u1', 'note', { from: 'b' })
  t.same(await Promise.all(notes), [{ from: 'b' }, { from: 'b' }])
  const ended = [whenState(onA, 'disconnected'), whenState(onB, 'disconnected')]
  const terminated = await sdk.terminateUserConnections('u1')
  t.equal(terminated.status, 200)
  t.equal(terminated.headers.get('x-roomcast-missing-nodes'), null, 'every node answered')
  await Promise.all(ended)
  t.equal(bTab.connection.state, 'connected')
})

t.test('a node that stops answering: reads still answer, naming the missing node', async (t) => {
  // Slow liveness, quick queries: b is still expected when a asks, and never answers.
  const [a, b] = await twoNodes(t, APP, { heartbeatInterval: 10_000, requestTimeout: 300 })
  const remote = pusherJs(b)
  const local = pusherJs(a)
  t.teardown(() => [remote, local].forEach((client) => client.disconnect()))
  await Promise.all([connected(remote), connected(local)])
  await once(remote.subscribe('news'), 'pusher:subscription_succeeded')
  await once(local.subscribe('news'), 'pusher:subscription_succeeded')
  await settle([a, b])
  t.same(await (await a.sdk().get({ path: '/channels/news' })).json(), { occupied: true, subscription_count: 2 })

  b.adapter.disconnectAbruptly()
  const response = await a.sdk().get({ path: '/channels/news' })
  t.equal(response.status, 200)
  t.equal(response.headers.get('x-roomcast-missing-nodes'), 'b')
  t.same(await response.json(), { occupied: true, subscription_count: 1 }, "a's own part")
  const listing = await a.sdk().get({ path: '/channels' })
  t.equal(listing.headers.get('x-roomcast-missing-nodes'), 'b')
  t.same(await listing.json(), { channels: { news: { occupied: true, subscription_count: 1 } } })
})
