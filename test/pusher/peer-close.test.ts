import type { PresenceChannel } from 'pusher-js'
import t, { type Test } from 'tap'
import { redisAdapter } from '../../plugin/index.js'
import { startRedis, uniquePrefix } from '../helpers/redis.js'
import { until, within, type RawClient } from '../helpers/server.js'
import { connected, once, pusherJs, rawPusher, startPusherServer, whenState, type PusherServer } from '../helpers/pusher.js'

/** A raw client subscribed to `news` and, as `userId`, to `presence-lobby`. */
async function subscribedRaw(t: Test, server: PusherServer, userId: string): Promise<RawClient> {
  const { client, socketId } = await rawPusher(server.url())
  t.teardown(() => client.ws.terminate())
  client.send({ event: 'pusher:subscribe', data: { channel: 'news' } })
  await client.next((frame) => frame.event === 'pusher_internal:subscription_succeeded' && (frame as { channel?: string }).channel === 'news')
  const channelData = { user_id: userId, user_info: { name: userId } }
  const { auth, channel_data } = server.sdk().authorizeChannel(socketId, 'presence-lobby', channelData) as { auth: string; channel_data: string }
  client.send({ event: 'pusher:subscribe', data: { channel: 'presence-lobby', auth, channel_data } })
  await client.next((frame) => frame.event === 'pusher_internal:subscription_succeeded' && (frame as { channel?: string }).channel === 'presence-lobby')
  return client
}

/**
 * Sends a close frame and then stalls: the client stops reading, so it never finishes the TCP
 * close (ws's `close` event on the server would wait for its 30 s close timer).
 */
function closeAndStall(client: RawClient): void {
  client.ws.pause()
  client.ws.close(1000)
}

async function json(server: PusherServer, path: string, params?: Record<string, string>): Promise<unknown> {
  return (await server.sdk().get({ path, ...(params === undefined ? {} : { params }) })).json()
}

t.test('a Pusher connection leaves its channels as soon as its close frame arrives', async (t) => {
  const server = await startPusherServer({ closeGracePeriod: 100 })
  t.teardown(() => server.app.close())
  const events: string[] = []
  const vacated = new Promise<void>((resolve) => {
    server.app.roomcast.pusher!.on('member_removed', (event) => events.push(`member_removed ${event.channel} ${String(event.userId)}`))
    server.app.roomcast.pusher!.on('channel_vacated', (event) => {
      events.push(`channel_vacated ${event.channel}`)
      if (event.channel === 'presence-lobby') resolve()
    })
  })
  const client = await subscribedRaw(t, server, 'bob')
  closeAndStall(client)

  await within(vacated, 5_000, 'the channels were not vacated on the close frame')
  t.same(events.sort(), ['channel_vacated news', 'channel_vacated presence-lobby', 'member_removed presence-lobby bob'])
  t.same(await json(server, '/channels/news', { info: 'subscription_count' }), { occupied: false, subscription_count: 0 })
  t.same(await json(server, '/channels/presence-lobby', { info: 'subscription_count,user_count' }), { occupied: false, subscription_count: 0, user_count: 0 })
  t.same(await json(server, '/channels/presence-lobby/users'), { users: [] })
  t.equal(server.app.roomcast.connections.count(), 0)
})

t.test('counts read over the HTTP API right after pusher-js disconnects are 0', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const client = pusherJs(server, { presence: () => ({ user_id: 'ann' }) })
  t.teardown(() => client.disconnect())
  await connected(client)
  await once(client.subscribe('news'), 'pusher:subscription_succeeded')
  await once(client.subscribe('presence-lobby'), 'pusher:subscription_succeeded')
  t.same(await json(server, '/channels/news', { info: 'subscription_count' }), { occupied: true, subscription_count: 1 })

  client.disconnect()
  // pusher-js reports `disconnected` once the server's answering close frame has arrived.
  await whenState(client, 'disconnected')
  t.same(await json(server, '/channels/news', { info: 'subscription_count' }), { occupied: false, subscription_count: 0 })
  t.same(await json(server, '/channels/presence-lobby', { info: 'user_count' }), { occupied: false, subscription_count: 0, user_count: 0 })
})

t.test('two nodes: the other node sees member_removed and zero counts on the close frame', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const keyPrefix = uniquePrefix('pusher-peer-close')
  const start = async (nodeId: string): Promise<PusherServer & { adapter: ReturnType<typeof redisAdapter> }> => {
    const adapter = redisAdapter({ redis: redis.client(), keyPrefix, heartbeatInterval: 1_000, requestTimeout: 2_000 })
    const server = await startPusherServer({ nodeId, adapter, closeGracePeriod: 100 })
    t.teardown(() => server.app.close())
    return { ...server, adapter }
  }
  const a = await start('a')
  const b = await start('b')
  await until(() => a.adapter.stats.liveNodes === 1 && b.adapter.stats.liveNodes === 1, 5_000, 'the nodes see each other')

  const watcher = pusherJs(b, { presence: () => ({ user_id: 'ann' }) })
  t.teardown(() => watcher.disconnect())
  await connected(watcher)
  const lobby = watcher.subscribe('presence-lobby') as PresenceChannel
  await once(lobby, 'pusher:subscription_succeeded')
  const joined = once(lobby, 'pusher:member_added')
  const leaver = await subscribedRaw(t, a, 'bob')
  await joined
  t.same(await json(b, '/channels/news', { info: 'subscription_count' }), { occupied: true, subscription_count: 1 })

  const removed = once<{ id: string }>(lobby, 'pusher:member_removed')
  closeAndStall(leaver)
  t.same((await removed).id, 'bob', 'member_removed reaches the other node')
  t.same(await json(b, '/channels/news', { info: 'subscription_count' }), { occupied: false, subscription_count: 0 })
  t.same(await json(b, '/channels/presence-lobby', { info: 'user_count' }), { occupied: true, subscription_count: 1, user_count: 1 })
  t.same(await json(b, '/channels/presence-lobby/users'), { users: [{ id: 'ann' }] })
})
