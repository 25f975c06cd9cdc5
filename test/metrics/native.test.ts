// Native traffic against a real server with `metrics: true`, read back by scraping /metrics
// with a Prometheus text parser: every value moves as the traffic does.
import type { Socket } from 'node:net'
import t, { type Test } from 'tap'
import { scrape, scrapeUntil } from '../helpers/metrics.js'
import { connect, expectRefusedUpgrade, RawClient, startServer } from '../helpers/server.js'

const native = { protocol: 'native' }

/** In-band `{ user }` becomes that user; `{ user: 'mallory' }` is refused; a `?deny` upgrade is refused before the socket. */
async function nativeServer(t: Test, options: Parameters<typeof startServer>[0] = {}) {
  const server = await startServer({
    metrics: true,
    authenticateRequest: (request) => ('deny' in (request.query as object) ? null : undefined),
    // Refused over HTTP, so that the refused upgrade never becomes a connection.
    refuseUpgradeWith: 'http',
    authenticate: (data) => {
      const user = (data as { user: string }).user
      return user === 'mallory' ? null : { userId: user }
    },
    authorizeJoin: ({ rooms }) => rooms.filter((room) => !room.startsWith('secret-')),
    ...options,
  })
  t.teardown(() => server.app.close())
  return server
}

t.test('connections, closes by code, auth failures, joins, refusals, rooms and presence', async (t) => {
  const { app, url, port } = await nativeServer(t)
  const before = await scrape(port)
  t.equal(before.value('roomcast_connections_total', native), 0)
  t.equal(before.family('roomcast_connections_open').metrics.length, 0, 'no connection yet, no series')

  const alice = await connect(url, { user: 'alice-7f3a' })
  const bob = await connect(url, { user: 'bob-91c2' })
  t.teardown(() => [alice.client, bob.client].forEach((c) => c.close()))
  t.same((await alice.client.request('join', { rooms: ['room-lobby-x1', 'secret-vault-x2'] })).data, {
    joined: ['room-lobby-x1'],
    refused: ['secret-vault-x2'],
  })
  await bob.client.request('join', { rooms: ['room-lobby-x1', 'room-side-x3'] })

  let now = await scrape(port)
  t.equal(now.value('roomcast_connections_open', { ...native, app: '' }), 2)
  t.equal(now.value('roomcast_connections_total', native), 2)
  t.equal(now.value('roomcast_joins_total', native), 3)
  t.equal(now.value('roomcast_join_refusals_total', native), 1)
  t.equal(now.value('roomcast_rooms', native), 2)
  t.equal(now.value('roomcast_room_members', native), 3)
  t.equal(now.value('roomcast_presence_members', native), 3, 'alice and bob in the lobby, bob in the side room')

  // Refused in-band (4003) and before the upgrade (401): two auth failures of reason "refused".
  const mallory = await RawClient.open(url)
  t.teardown(() => mallory.close())
  await mallory.request('authenticate', { user: 'mallory' })
  t.equal((await mallory.whenClosed()).code, 4003)
  t.equal((await expectRefusedUpgrade(`${url}?deny`)).statusCode, 401)

  bob.client.ws.close(1000, 'bye')
  now = await scrapeUntil(port, (s) => s.value('roomcast_connections_open', native) === 1)
  t.equal(now.value('roomcast_auth_failures_total', { ...native, reason: 'refused' }), 2)
  t.equal(now.value('roomcast_connection_closes_total', { ...native, code: '1000' }), 1)
  t.equal(now.value('roomcast_connection_closes_total', { ...native, code: '4003' }), 1)
  t.equal(now.value('roomcast_connections_total', native), 3, 'the refused in-band one was accepted first; the 401 never was')
  t.equal(now.value('roomcast_leaves_total', native), 2, "bob's rooms")
  t.equal(now.value('roomcast_rooms', native), 1)
  t.equal(now.value('roomcast_presence_members', native), 1)

  alice.client.ws.close(1000)
  now = await scrapeUntil(port, (s) => s.value('roomcast_connections_open', native) === 0)
  t.equal(now.family('roomcast_connections_open').metrics.length, 1, 'the emptied series stays, at 0')
  t.equal(now.value('roomcast_rooms', native), 0)
  t.equal(app.roomcast.connections.count(), 0)

  const labels = now.labelValues()
  for (const name of ['room-lobby-x1', 'secret-vault-x2', 'room-side-x3', 'alice-7f3a', 'bob-91c2', 'mallory']) {
    t.notOk(
      labels.some((value) => value.includes(name)),
      `no label holds ${name}`,
    )
  }
})

t.test('messages in, deliveries, bytes and the fan-out histogram', async (t) => {
  const { app, url, port } = await nativeServer(t)
  app.roomcast.on('say', (connection, data) => {
    app.roomcast.rooms.to('chat').emit('said', { from: connection.userId, data })
  })
  const clients = await Promise.all(['a', 'b', 'c'].map((user) => connect(url, { user })))
  t.teardown(() => clients.forEach(({ client }) => client.close()))
  for (const { client } of clients) await client.request('join', { rooms: ['chat'] })
  const before = await scrape(port)

  clients[0]!.client.send({ event: 'say', data: 'hello' })
  await Promise.all(clients.map(({ client }) => client.next('said')))
  app.roomcast.rooms.to('chat').emit('said', { from: 'server', data: 'x'.repeat(10_000) })
  await Promise.all(clients.map(({ client }) => client.next((f) => f.event === 'said' && f.data.from === 'server')))

  const after = await scrape(port)
  t.equal(after.value('roomcast_messages_received_total', native) - before.value('roomcast_messages_received_total', native), 1)
  t.equal(after.value('roomcast_deliveries_total', native) - before.value('roomcast_deliveries_total', native), 6, 'two messages to three members')
  t.equal(after.value('roomcast_fanout_duration_seconds_count') - before.value('roomcast_fanout_duration_seconds_count'), 2, 'two fan-outs observed')
  const sent = after.value('roomcast_sent_bytes_total', native) - before.value('roomcast_sent_bytes_total', native)
  t.ok(sent >= 3 * 10_000, `at least the large message three times went out (${sent} bytes)`)
  t.ok(after.value('roomcast_received_bytes_total', native) > before.value('roomcast_received_bytes_total', native), 'the client message came in')

  // Bytes of closed connections are kept: the counters never go back.
  for (const { client } of clients) client.ws.close(1000)
  const closed = await scrapeUntil(port, (s) => s.value('roomcast_connections_open', native) === 0)
  t.ok(closed.value('roomcast_sent_bytes_total', native) >= after.value('roomcast_sent_bytes_total', native))
  t.ok(closed.value('roomcast_received_bytes_total', native) >= after.value('roomcast_received_bytes_total', native))
})

t.test('rate-limited closes and messages dropped under backpressure', async (t) => {
  const { app, url, port } = await nativeServer(t, {
    rateLimit: { max: 3, windowMs: 60_000 },
    backpressure: { maxBufferedBytes: 4096, policy: 'drop', maxDropped: Infinity },
  })
  const flooder = await connect(url, { user: 'f' })
  t.teardown(() => flooder.client.close())
  for (let i = 0; i < 6; i++) flooder.client.send({ event: 'noise', id: i })
  t.equal((await flooder.client.whenClosed()).code, 1008)

  const slow = await connect(url, { user: 's' })
  t.teardown(() => slow.client.close())
  await slow.client.request('join', { rooms: ['feed'] })
  const tcp = (slow.client.ws as unknown as { _socket: Socket })._socket
  tcp.pause()
  const connection = app.roomcast.connections.get(slow.connected.data.connectionId)!
  for (let round = 0; round < 200 && connection.dropped === 0; round++) {
    for (let i = 0; i < 20; i++) app.roomcast.rooms.to('feed').emit('tick', 'y'.repeat(4096))
    await new Promise((resolve) => setImmediate(resolve))
  }
  t.ok(connection.dropped > 0, 'the paused reader dropped messages')

  const now = await scrape(port)
  t.equal(now.value('roomcast_rate_limited_total', native), 1)
  t.equal(now.value('roomcast_connection_closes_total', { ...native, code: '1008' }), 1)
  t.equal(now.value('roomcast_dropped_messages_total', native), connection.dropped)
  tcp.resume()
})

t.test('an authentication that times out is counted', async (t) => {
  const { port } = await nativeServer(t, { authTimeout: 50 })
  const client = await RawClient.open(`ws://127.0.0.1:${port}/ws`)
  t.teardown(() => client.close())
  t.equal((await client.whenClosed()).code, 4001)
  const now = await scrapeUntil(port, (s) => s.value('roomcast_auth_failures_total', { ...native, reason: 'timeout' }) === 1)
  t.equal(now.value('roomcast_connection_closes_total', { ...native, code: '4001' }), 1)
})
