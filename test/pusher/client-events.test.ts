import t from 'tap'
import { until } from '../helpers/server.js'
import { APP, connected, once, onceWithMeta, pusherJs, rawPusher, startPusherServer } from '../helpers/pusher.js'

interface PusherError {
  type: string
  data: { code: number | null; message: string }
}

t.test('client events between pusher-js clients: relayed to others, never echoed, user_id on presence', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const seen: Array<{ channel: string; event: string; socketId: string; userId?: unknown; data: unknown }> = []
  server.app.roomcast.pusher!.on('client_event', ({ channel, event, socketId, userId, data }) => {
    seen.push(userId === undefined ? { channel, event, socketId, data } : { channel, event, socketId, userId, data })
  })
  const alice = pusherJs(server, { presence: () => ({ user_id: 'alice', user_info: { name: 'Alice' } }) })
  const bob = pusherJs(server, { presence: () => ({ user_id: 'bob' }) })
  t.teardown(() => {
    alice.disconnect()
    bob.disconnect()
  })
  const [aliceId] = await Promise.all([connected(alice), connected(bob)])

  const alicePrivate = alice.subscribe('private-room')
  const bobPrivate = bob.subscribe('private-room')
  await Promise.all([once(alicePrivate, 'pusher:subscription_succeeded'), once(bobPrivate, 'pusher:subscription_succeeded')])
  const got = once(bobPrivate, 'client-typing')
  let echoed = false
  alicePrivate.bind('client-typing', () => {
    echoed = true
  })
  alicePrivate.trigger('client-typing', { who: 'alice' })
  t.same(await got, { who: 'alice' })

  const alicePresence = alice.subscribe('presence-room')
  const bobPresence = bob.subscribe('presence-room')
  await Promise.all([once(alicePresence, 'pusher:subscription_succeeded'), once(bobPresence, 'pusher:subscription_succeeded')])
  const withMeta = onceWithMeta(bobPresence, 'client-wave')
  alicePresence.trigger('client-wave', ['hand'])
  const { data, metadata } = await withMeta
  t.same(data, ['hand'])
  t.equal(metadata.user_id, 'alice', 'pusher-js gets the sender from user_id')
  t.equal(echoed, false, 'the sender never receives its own client event')
  t.same(seen, [
    { channel: 'private-room', event: 'client-typing', socketId: aliceId, data: { who: 'alice' } },
    { channel: 'presence-room', event: 'client-wave', socketId: aliceId, userId: 'alice', data: ['hand'] },
  ])
})

t.test('each refused client event gets pusher:error 4301 and the connection stays', async (t) => {
  const server = await startPusherServer({
    apps: [
      { ...APP, maxClientEventsPerSecond: 3, maxEventPayloadKb: 1, maxEventNameLength: 20 },
      { id: 'quiet-id', key: 'quiet-key', secret: 'quiet-secret' },
    ],
  })
  t.teardown(() => server.app.close())
  const client = pusherJs(server)
  t.teardown(() => client.disconnect())
  await connected(client)
  const errors: PusherError[] = []
  client.connection.bind('error', (error: PusherError) => errors.push(error))
  const nextError = async (): Promise<PusherError> => once<PusherError>(client.connection, 'error')

  const priv = client.subscribe('private-a')
  const pub = client.subscribe('public-a')
  await Promise.all([once(priv, 'pusher:subscription_succeeded'), once(pub, 'pusher:subscription_succeeded')])

  let error = nextError()
  pub.trigger('client-x', {})
  t.same((await error).data, { code: 4301, message: 'Client events are only supported on private and presence channels.' })

  error = nextError()
  priv.trigger('client-' + 'x'.repeat(20), {})
  t.same((await error).data, { code: 4301, message: 'The event name is longer than 20 characters.' })

  error = nextError()
  priv.trigger('client-big', { blob: 'x'.repeat(1100) })
  t.same((await error).data, { code: 4301, message: 'The event data is larger than 1 KiB.' })

  error = nextError()
  client.send_event('client-x', {}, 'private-elsewhere')
  t.same((await error).data, { code: 4301, message: 'The connection is not subscribed to the channel.' })

  // Rate: three per second pass, the fourth within the same second is refused.
  const other = pusherJs(server)
  t.teardown(() => other.disconnect())
  await connected(other)
  const otherPriv = other.subscribe('private-a')
  await once(otherPriv, 'pusher:subscription_succeeded')
  let received = 0
  otherPriv.bind('client-burst', () => received++)
  error = nextError()
  for (let i = 0; i < 4; i++) priv.trigger('client-burst', { i })
  t.same((await error).data, { code: 4301, message: 'The rate limit for sending client events exceeded the quota.' })
  await until(() => received === 3, 5000, 'three relayed events')
  t.equal(received, 3, 'the three within the limit were relayed')

  t.equal(errors.length, 5)
  t.equal(client.connection.state, 'connected', 'refusals do not close the connection')

  // An app without client messages refuses them all.
  const quiet = pusherJs(server, {}, { id: 'quiet-id', key: 'quiet-key', secret: 'quiet-secret' })
  t.teardown(() => quiet.disconnect())
  await connected(quiet)
  const quietPriv = quiet.subscribe('private-a')
  await once(quietPriv, 'pusher:subscription_succeeded')
  const quietError = once<PusherError>(quiet.connection, 'error')
  quietPriv.trigger('client-x', {})
  t.same((await quietError).data, { code: 4301, message: 'The app does not have client messaging enabled.' })
})

t.test('encrypted channels refuse client events (pusher-js refuses them too, so this one is raw)', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const { client, socketId } = await rawPusher(server.url())
  t.teardown(() => client.close())
  client.send({
    event: 'pusher:subscribe',
    data: { channel: 'private-encrypted-a', auth: server.sdk().authorizeChannel(socketId, 'private-encrypted-a').auth },
  })
  await client.next('pusher_internal:subscription_succeeded')
  client.send({ event: 'client-x', channel: 'private-encrypted-a', data: { nonce: 'n', ciphertext: 'c' } })
  t.same(await client.next('pusher:error'), {
    event: 'pusher:error',
    channel: 'private-encrypted-a',
    data: { code: 4301, message: 'Client events are not supported on encrypted channels.' },
  })
})

t.test('a flood of frames past the rate limit closes with 4100; pings, pongs and unsubscribes count like any frame', async (t) => {
  const server = await startPusherServer({ rateLimit: { max: 5, windowMs: 60_000 } })
  t.teardown(() => server.app.close())
  const { client } = await rawPusher(server.url())
  t.teardown(() => client.close())
  for (let i = 0; i < 50; i++) {
    client.send({ event: 'pusher:ping', data: {} })
    client.send({ event: 'pusher:pong', data: {} })
    client.send({ event: 'pusher:unsubscribe', data: { channel: `c${i}` } })
  }
  const closed = await client.whenClosed()
  t.equal(closed.code, 4100, 'over capacity: pusher-js reconnects after a backoff')
  t.equal(client.all('pusher:pong').length, 2, 'only the pings within the limit were answered')
  t.same(client.all('pusher:error').at(-1), { event: 'pusher:error', data: { code: 4100, message: 'Too many messages.' } })
})

t.test('pusher-js closed for sending too fast comes back by itself', async (t) => {
  const server = await startPusherServer({ rateLimit: { max: 5, windowMs: 60_000 } })
  t.teardown(() => server.app.close())
  const client = pusherJs(server)
  t.teardown(() => client.disconnect())
  const firstId = await connected(client)
  const room = client.subscribe('private-room')
  await once(room, 'pusher:subscription_succeeded')
  const states: string[] = []
  client.connection.bind('state_change', ({ current }: { current: string }) => void states.push(current))
  for (let i = 0; i < 6; i++) room.trigger('client-tick', { i })
  await until(() => states.includes('connecting') || states.includes('unavailable'), 5_000, 'closed')
  await until(() => client.connection.state === 'connected' && client.connection.socket_id !== firstId, 10_000, 'reconnected')
  await until(() => room.subscribed, 5_000, 'subscribed again')
  t.notOk(states.includes('failed'), `never gave up: ${states.join(' → ')}`)
})
