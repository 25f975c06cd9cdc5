import type { PresenceChannel } from 'pusher-js'
import t from 'tap'
import { until } from '../helpers/server.js'
import { APP, connected, once, pusherJs, startPusherServer, whenState } from '../helpers/pusher.js'

/**
 * The real `pusher` SDK against the plugin's own HTTP API on a real port, with real pusher-js
 * clients receiving what it publishes.
 */

const person = (id: string) => () => ({ user_id: id, user_info: { name: id } })

t.test('trigger: one and many channels, socket_id exclusion, info with counts', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const sdk = server.sdk()
  const ann = pusherJs(server, { presence: person('ann') })
  const bob = pusherJs(server, { presence: person('bob') })
  t.teardown(() => [ann, bob].forEach((client) => client.disconnect()))
  const [annId] = await Promise.all([connected(ann), connected(bob)])
  const annNews = ann.subscribe('news')
  const bobNews = bob.subscribe('news')
  const annRoom = ann.subscribe('presence-room')
  const bobRoom = bob.subscribe('presence-room')
  await Promise.all([annNews, bobNews, annRoom, bobRoom].map((channel) => once(channel, 'pusher:subscription_succeeded')))

  const both = [once(annNews, 'headline'), once(bobNews, 'headline')]
  const response = await sdk.trigger('news', 'headline', { title: 'one' })
  t.equal(response.status, 200)
  t.same(await response.json(), { ok: true })
  t.same(await Promise.all(both), [{ title: 'one' }, { title: 'one' }])

  // socket_id: ann sent it, so only bob gets it. A marker event afterwards proves ann got nothing.
  let annGot = 0
  annNews.bind('echo', () => annGot++)
  const bobEcho = once(bobNews, 'echo')
  await sdk.trigger('news', 'echo', { n: 1 }, { socket_id: annId })
  t.same(await bobEcho, { n: 1 })
  const marker = once(annNews, 'marker')
  await sdk.trigger('news', 'marker', {})
  await marker
  t.equal(annGot, 0, 'the excluded socket never got the event')

  // Several channels at once, and info: user_count only exists for presence channels.
  const onRoom = once(annRoom, 'multi')
  const onNews = once(bobNews, 'multi')
  const multi = await sdk.trigger(['news', 'presence-room'], 'multi', 'text payload', { info: 'user_count,subscription_count' })
  t.same(await multi.json(), {
    ok: true,
    channels: { news: { subscription_count: 2 }, 'presence-room': { user_count: 2, subscription_count: 2 } },
  })
  t.equal(await onRoom, 'text payload')
  t.equal(await onNews, 'text payload')
})

t.test('triggerBatch: events in order to their channels; info answers per event', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const sdk = server.sdk()
  const client = pusherJs(server)
  t.teardown(() => client.disconnect())
  await connected(client)
  const a = client.subscribe('a')
  const b = client.subscribe('private-b')
  await Promise.all([once(a, 'pusher:subscription_succeeded'), once(b, 'pusher:subscription_succeeded')])
  const seen: string[] = []
  a.bind('tick', (data: { n: number }) => seen.push(`a${data.n}`))
  b.bind('tick', (data: { n: number }) => seen.push(`b${data.n}`))
  const plain = await sdk.triggerBatch([
    { channel: 'a', name: 'tick', data: { n: 1 } },
    { channel: 'private-b', name: 'tick', data: { n: 2 } },
    { channel: 'a', name: 'tick', data: { n: 3 } },
  ])
  t.same(await plain.json(), { ok: true })
  await until(() => seen.length === 3, 5000, 'three batch events')
  t.same(seen, ['a1', 'b2', 'a3'])

  const withInfo = await sdk.triggerBatch([
    { channel: 'a', name: 'tick', data: { n: 4 }, info: 'subscription_count' },
    { channel: 'nobody-here', name: 'tick', data: { n: 5 } },
  ])
  t.same(await withInfo.json(), { ok: true, batch: [{ subscription_count: 1 }, {}] })
})

t.test('encrypted channels: the SDK encrypts, the server relays, pusher-js decrypts', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const client = pusherJs(server)
  t.teardown(() => client.disconnect())
  await connected(client)
  const secret = client.subscribe('private-encrypted-vault')
  await once(secret, 'pusher:subscription_succeeded')
  const got = once(secret, 'gold')
  await server.sdk().trigger('private-encrypted-vault', 'gold', { bars: 12 })
  t.same(await got, { bars: 12 })
  const batched = once(secret, 'silver')
  await server.sdk().triggerBatch([{ channel: 'private-encrypted-vault', name: 'silver', data: { coins: 3 } }])
  t.same(await batched, { coins: 3 })
})

t.test('get: /channels, /channels/:channel and /channels/:channel/users, cluster answers with counts', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const sdk = server.sdk()
  const ann = pusherJs(server, { presence: () => ({ user_id: 'ann', user_info: { name: 'Ann' } }) })
  const annTab = pusherJs(server, { presence: () => ({ user_id: 'ann', user_info: { name: 'Ann' } }) })
  const num = pusherJs(server, { presence: () => ({ user_id: 7 }) })
  t.teardown(() => [ann, annTab, num].forEach((client) => client.disconnect()))
  await Promise.all([ann, annTab, num].map(connected))
  await Promise.all([
    once(ann.subscribe('presence-lobby') as PresenceChannel, 'pusher:subscription_succeeded'),
    once(annTab.subscribe('presence-lobby') as PresenceChannel, 'pusher:subscription_succeeded'),
    once(num.subscribe('presence-lobby') as PresenceChannel, 'pusher:subscription_succeeded'),
    once(ann.subscribe('news'), 'pusher:subscription_succeeded'),
    once(num.subscribe('private-x'), 'pusher:subscription_succeeded'),
  ])

  const json = async (path: string, params?: Record<string, string>) => (await sdk.get({ path, ...(params === undefined ? {} : { params }) })).json()
  t.same(await json('/channels'), {
    channels: {
      news: { occupied: true, subscription_count: 1 },
      'presence-lobby': { occupied: true, subscription_count: 3 },
      'private-x': { occupied: true, subscription_count: 1 },
    },
  })
  t.same(await json('/channels', { filter_by_prefix: 'presence-', info: 'user_count' }), {
    channels: { 'presence-lobby': { occupied: true, subscription_count: 3, user_count: 2 } },
  })
  t.same(await json('/channels', { filter_by_prefix: 'private-' }), { channels: { 'private-x': { occupied: true, subscription_count: 1 } } })
  t.same(await json('/channels/presence-lobby', { info: 'user_count,subscription_count' }), { occupied: true, subscription_count: 3, user_count: 2 })
  t.same(await json('/channels/news'), { occupied: true, subscription_count: 1 })
  t.same(await json('/channels/empty-one'), { occupied: false, subscription_count: 0 })
  const users = (await json('/channels/presence-lobby/users')) as { users: Array<{ id: unknown }> }
  t.same(users.users.map((user) => user.id).sort(), [7, 'ann'].sort(), 'ids keep their JSON type')
  const withInfo = (await json('/channels/presence-lobby/users', { with_user_info: '1' })) as { users: Array<{ id: unknown; user_info?: unknown }> }
  t.same(
    withInfo.users.find((user) => user.id === 'ann'),
    { id: 'ann', user_info: { name: 'Ann' } },
  )

  ann.unsubscribe('news')
  await until(async () => ((await json('/channels/news')) as { occupied: boolean }).occupied === false, 5000, 'news vacated')
  t.same(await json('/channels', { filter_by_prefix: 'news' }), { channels: {} })
})

t.test('sendToUser and terminateUserConnections', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const sdk = server.sdk()
  const tab1 = pusherJs(server, { user: { id: 'u1' } })
  const tab2 = pusherJs(server, { user: { id: 'u1' } })
  const other = pusherJs(server, { user: { id: 'u2' } })
  t.teardown(() => [tab1, tab2, other].forEach((client) => client.disconnect()))
  await Promise.all([tab1, tab2, other].map(connected))
  for (const client of [tab1, tab2, other]) client.signin()
  await until(() => [tab1, tab2, other].every((client) => client.user.serverToUserChannel?.subscribed === true), 5000, 'signed in')

  const got = [once(tab1.user, 'notice'), once(tab2.user, 'notice')]
  let leaked = 0
  other.user.bind('notice', () => leaked++)
  const sent = await sdk.sendToUser('u1', 'notice', { text: 'hi' })
  t.equal(sent.status, 200)
  t.same(await Promise.all(got), [{ text: 'hi' }, { text: 'hi' }])

  const errors = [once<{ data: unknown }>(tab1.connection, 'error'), once<{ data: unknown }>(tab2.connection, 'error')]
  const ended = [whenState(tab1, 'disconnected'), whenState(tab2, 'disconnected')]
  const terminated = await sdk.terminateUserConnections('u1')
  t.equal(terminated.status, 200)
  t.same(await terminated.json(), { ok: true })
  for (const error of await Promise.all(errors)) t.same(error.data, { code: 4009, message: 'You got disconnected by the app.' })
  await Promise.all(ended)
  t.equal(other.connection.state, 'connected')
  t.equal(leaked, 0)
})

t.test('the health route: 200 while accepting, 503 while draining', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const health = await fetch(`http://127.0.0.1:${server.port}/pusher/health`)
  t.equal(health.status, 200)
  t.same(await health.json(), { ok: true, node: server.app.roomcast.nodeId })
  await server.app.roomcast.connections.drain({ perSecond: 1000 })
  const draining = await fetch(`http://127.0.0.1:${server.port}/pusher/health`)
  t.equal(draining.status, 503)
  t.same(await draining.json(), { error: 'The server is shutting down.', code: 503 })
})

t.test('a path prefix moves the API; signatures over /apps/... (a proxy adding the prefix) still verify', async (t) => {
  const server = await startPusherServer({ pusher: { apps: [APP], pathPrefix: '/rt' } })
  t.teardown(() => server.app.close())
  const client = pusherJs(server, { extra: { wsPath: '/rt' } })
  t.teardown(() => client.disconnect())
  await connected(client)
  const channel = client.subscribe('news')
  await once(channel, 'pusher:subscription_succeeded')
  const got = once(channel, 'via-prefix')
  const sdk = server.sdk()
  const query = sdk.createSignedQueryString({
    method: 'POST',
    path: '/apps/app-id/events',
    body: JSON.stringify({ name: 'via-prefix', channels: ['news'], data: '{"ok":1}' }),
  })
  const response = await fetch(`http://127.0.0.1:${server.port}/rt/apps/app-id/events?${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'via-prefix', channels: ['news'], data: '{"ok":1}' }),
  })
  t.equal(response.status, 200)
  t.same(await got, { ok: 1 })
  t.equal((await fetch(`http://127.0.0.1:${server.port}/rt/pusher/health`)).status, 200)
  t.equal((await fetch(`http://127.0.0.1:${server.port}/apps/app-id/channels`)).status, 404, 'nothing without the prefix')
})
