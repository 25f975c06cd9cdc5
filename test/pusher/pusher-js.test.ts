import type { PresenceChannel } from 'pusher-js'
import t from 'tap'
import { socketOf, until } from '../helpers/server.js'
import { APP, connected, once, pusherJs, startPusherServer, whenState } from '../helpers/pusher.js'

interface Member {
  id: string
  info: unknown
}

t.test('pusher-js connects and receives on public, private and cache channels; the SDK publishes through trigger', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const sdk = server.sdk()
  const client = pusherJs(server)
  t.teardown(() => client.disconnect())
  const socketId = await connected(client)
  t.match(socketId, /^\d+\.\d+$/)

  const pub = client.subscribe('news')
  const priv = client.subscribe('private-inbox')
  await Promise.all([once(pub, 'pusher:subscription_succeeded'), once(priv, 'pusher:subscription_succeeded')])
  const news = once(pub, 'headline')
  await server.app.roomcast.pusher!.trigger(APP.id, ['news'], 'headline', { title: 'from the hub' })
  t.same(await news, { title: 'from the hub' })
  const mail = once(priv, 'mail')
  await sdk.trigger('private-inbox', 'mail', { subject: 'via the SDK' })
  t.same(await mail, { subject: 'via the SDK' })

  // Cache: nothing yet, then the last event for a late subscriber.
  const cache = client.subscribe('cache-prices')
  await once(cache, 'pusher:cache_miss')
  await sdk.trigger('cache-prices', 'price', { eur: 3 })
  const late = pusherJs(server)
  t.teardown(() => late.disconnect())
  await connected(late)
  t.same(await once(late.subscribe('cache-prices'), 'price'), { eur: 3 })
})

t.test('encrypted channel round trip: the SDK encrypts with the master key, pusher-js decrypts, the server only relays', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const sdk = server.sdk()
  const client = pusherJs(server)
  t.teardown(() => client.disconnect())
  await connected(client)
  const channel = client.subscribe('private-encrypted-vault')
  await once(channel, 'pusher:subscription_succeeded')
  // Watch the bytes the server writes to this client's TCP socket.
  const conn = server.app.roomcast.connections.get(client.connection.socket_id)!
  const socket = (socketOf(conn) as unknown as { _socket: { write: (...args: unknown[]) => boolean } })._socket
  const secret = once(channel, 'secret')
  const sniff = new Promise<string>((resolve) => {
    const write = socket.write.bind(socket)
    socket.write = (...args: unknown[]) => {
      const text = Buffer.from(args[0] as Buffer).toString('latin1')
      if (text.includes('"secret"')) resolve(text)
      return write(...args)
    }
  })
  await sdk.trigger('private-encrypted-vault', 'secret', { code: 'open sesame' })
  t.same(await secret, { code: 'open sesame' }, 'pusher-js decrypted it')
  const relayed = await sniff
  t.notMatch(relayed, /open sesame/, 'the plaintext never crossed the server')
  t.match(relayed, /nonce.*ciphertext/)
})

t.test('auth errors reach pusher-js as pusher:subscription_error', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const client = pusherJs(server, { badSecret: true, presence: () => ({ user_id: 'x' }) })
  t.teardown(() => client.disconnect())
  await connected(client)
  const privateError = once(client.subscribe('private-nope'), 'pusher:subscription_error')
  const presenceError = once(client.subscribe('presence-nope'), 'pusher:subscription_error')
  t.same(await privateError, { type: 'AuthError', error: 'The connection is unauthorized.', status: 401 })
  t.same(await presenceError, { type: 'AuthError', error: 'The connection is unauthorized.', status: 401 })
  t.equal(client.connection.state, 'connected')
})

t.test('presence with pusher-js: two users join and leave; the same user twice is one member', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const added: unknown[] = []
  const removed: unknown[] = []
  server.app.roomcast.pusher!.on('member_added', ({ channel, userId }) => {
    added.push([channel, userId])
  })
  server.app.roomcast.pusher!.on('member_removed', ({ channel, userId }) => {
    removed.push([channel, userId])
  })
  const user = (id: string, name: string) => () => ({ user_id: id, user_info: { name } })
  const ann = pusherJs(server, { presence: user('ann', 'Ann') })
  const bob = pusherJs(server, { presence: user('bob', 'Bob') })
  const bobTab = pusherJs(server, { presence: user('bob', 'Bob') })
  t.teardown(() => [ann, bob, bobTab].forEach((c) => c.disconnect()))
  await Promise.all([ann, bob, bobTab].map(connected))

  const annRoom = ann.subscribe('presence-lobby') as PresenceChannel
  await once(annRoom, 'pusher:subscription_succeeded')
  t.equal(annRoom.members.count, 1)
  t.same(annRoom.members.me, { id: 'ann', info: { name: 'Ann' } })

  const joined = once<Member>(annRoom, 'pusher:member_added')
  const bobRoom = bob.subscribe('presence-lobby') as PresenceChannel
  await once(bobRoom, 'pusher:subscription_succeeded')
  t.same(await joined, { id: 'bob', info: { name: 'Bob' } })
  t.equal(bobRoom.members.count, 2)
  t.same(bobRoom.members.get('ann'), { id: 'ann', info: { name: 'Ann' } })

  let duplicate = false
  annRoom.bind('pusher:member_added', () => {
    duplicate = true
  })
  const tabRoom = bobTab.subscribe('presence-lobby') as PresenceChannel
  await once(tabRoom, 'pusher:subscription_succeeded')
  t.equal(tabRoom.members.count, 2, "bob's second tab is the same member")
  t.equal(annRoom.members.count, 2)

  let removedEarly = false
  annRoom.bind('pusher:member_removed', () => {
    removedEarly = true
  })
  bob.unsubscribe('presence-lobby')
  await until(async () => (await server.app.roomcast.pusher!.channelInfo(APP.id, 'presence-lobby')).subscriptionCount === 2, 5000, 'bob left once')
  t.equal(removedEarly, false, 'one of two sockets leaving removes nobody')
  annRoom.unbind('pusher:member_removed')
  const left = once<Member>(annRoom, 'pusher:member_removed')
  bobTab.disconnect()
  t.same(await left, { id: 'bob', info: { name: 'Bob' } })
  t.equal(annRoom.members.count, 1)
  t.equal(duplicate, false)
  t.same(added, [
    ['presence-lobby', 'ann'],
    ['presence-lobby', 'bob'],
  ])
  t.same(removed, [['presence-lobby', 'bob']])
})

t.test('pusher-js stops on a disabled app and at the connection quota', async (t) => {
  const off = { id: 'off-id', key: 'off-key', secret: 'off-secret', enabled: false }
  const small = { id: 'small-id', key: 'small-key', secret: 'small-secret', maxConnections: 1 }
  const server = await startPusherServer({ apps: [APP, off, small] })
  t.teardown(() => server.app.close())

  const disabled = pusherJs(server, {}, off)
  t.teardown(() => disabled.disconnect())
  // A refusal during the handshake comes wrapped: { type: 'WebSocketError', error: { type: 'PusherError', data } }.
  const disabledError = once<{ error: { data: { code: number; message: string } } }>(disabled.connection, 'error')
  t.same((await disabledError).error.data, { code: 4003, message: 'The app is not enabled.' })
  await whenState(disabled, 'disconnected')

  const first = pusherJs(server, {}, small)
  t.teardown(() => first.disconnect())
  await connected(first)
  const second = pusherJs(server, {}, small)
  t.teardown(() => second.disconnect())
  const quotaError = once<{ error: { data: { code: number; message: string } } }>(second.connection, 'error')
  t.same((await quotaError).error.data, { code: 4004, message: 'The current concurrent connections quota has been reached.' })
  await whenState(second, 'disconnected')
  t.equal(first.connection.state, 'connected')
})

t.test('liveness: pusher-js answers server pings, and its own pings get pongs', async (t) => {
  const server = await startPusherServer({ heartbeat: { interval: 50, timeout: 200 } })
  t.teardown(() => server.app.close())
  const disconnects: number[] = []
  server.app.roomcast.addHook('disconnect', (_connection, { code }) => {
    disconnects.push(code)
  })
  const client = pusherJs(server)
  t.teardown(() => client.disconnect())
  const socketId = await connected(client)
  // Many heartbeat timeouts later the connection is the same one.
  await new Promise((resolve) => setTimeout(resolve, 800))
  t.equal(client.connection.socket_id, socketId)
  t.same(disconnects, [])

  // The server says activity_timeout=1: a silent server makes pusher-js ping after a second.
  const quiet = await startPusherServer({ heartbeat: { interval: 60_000, timeout: 120_000 }, pusher: { apps: [APP], activityTimeout: 1 } })
  t.teardown(() => quiet.app.close())
  const pinger = pusherJs(quiet, { extra: { pongTimeout: 500 } })
  t.teardown(() => pinger.disconnect())
  const pingerId = await connected(pinger)
  const connection = quiet.app.roomcast.connections.get(pingerId)!
  const openedAt = connection.lastSeen
  await until(() => connection.lastSeen > openedAt, 5000, 'a client ping')
  // Past pusher-js's pong timeout: had the pong not come, it would have reconnected.
  await new Promise((resolve) => setTimeout(resolve, 700))
  t.equal(pinger.connection.socket_id, pingerId)
  t.equal(pinger.connection.state, 'connected')
})
