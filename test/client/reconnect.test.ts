import t from 'tap'
import { WebSocketServer, type WebSocket as ServerSocket } from 'ws'
import { CloseCode, type ReconnectingInfo } from '../../client/index.js'
import { inState, nextEvent, rejection, startTestServer, testClient } from '../helpers/client.js'
import { delay, until } from '../helpers/server.js'

t.test('server restart on the same port: backoff, rooms restored, messages flow again', async (t) => {
  let server = await startTestServer()
  t.teardown(() => server.close())
  const port = server.port
  const minDelay = 5
  const maxDelay = 30
  const client = testClient(server.url, { reconnect: { minDelay, maxDelay, factor: 2 } })
  t.teardown(() => client.close())
  await client.join(['r1', 'r2'])
  const retries: ReconnectingInfo[] = []
  client.on('reconnecting', (info) => retries.push(info))

  await server.close()
  // Attempts against the closed port fail; let a few of them back off.
  await until(() => retries.length >= 4, 5000, 'four attempts')
  t.equal(retries[0]!.code, CloseCode.ServerShutdown, 'the first loss is the shutdown')
  t.same(
    retries.slice(0, 4).map((retry) => retry.attempt),
    [1, 2, 3, 4],
  )
  for (const retry of retries) {
    const ceiling = Math.min(maxDelay, minDelay * 2 ** (retry.attempt - 1))
    t.ok(retry.delay! >= 0 && retry.delay! <= ceiling, `attempt ${retry.attempt}: ${retry.delay} ms within [0, ${ceiling}]`)
  }
  t.equal(client.state === 'reconnecting' || client.state === 'connecting', true)

  const connected = nextEvent(client, 'connected')
  server = await startTestServer({}, port)
  const info = await connected
  t.equal(info.reconnected, true)
  t.same(info.rooms.sort(), ['r1', 'r2'])
  t.equal(await server.app.roomcast.rooms.size('r1'), 1, 'the new server has the client in r1')
  t.equal(await server.app.roomcast.rooms.size('r2'), 1)

  const bob = testClient(server.url, { auth: { name: 'bob' } })
  t.teardown(() => bob.close())
  const heard = new Promise<string>((resolve) => client.once('said', (data, meta) => resolve(`${meta.room}:${data.from}:${data.text}`)))
  await bob.ready()
  bob.emit('say', { room: 'r2', text: 'welcome back' })
  t.equal(await heard, 'r2:bob:welcome back')
})

t.test('rooms refused on rejoin are dropped and reported', async (t) => {
  let allow = true
  const server = await startTestServer({ authorizeJoin: ({ rooms }) => (allow ? rooms : rooms.filter((room) => room !== 'vip')) })
  t.teardown(() => server.close())
  const client = testClient(server.url)
  t.teardown(() => client.close())
  await client.join(['vip', 'open'])
  allow = false
  const error = nextEvent(client, 'error')
  await server.app.roomcast.connections.disconnect(client.connectionId!, CloseCode.Draining)
  await inState(client, 'reconnecting')
  await inState(client, 'connected')
  const reported = await error
  t.equal(reported.code, 'join_refused')
  t.match(reported.message, /vip/)
  t.same(client.rooms, ['open'])
})

t.test('a room left while disconnected is not restored; a default room left stays left', async (t) => {
  const server = await startTestServer({ defaultRooms: () => ['lobby'] })
  t.teardown(() => server.close())
  const client = testClient(server.url)
  t.teardown(() => client.close())
  await client.ready()
  t.same(client.rooms, ['lobby'])
  await client.join('a')
  await client.leave('lobby')
  await server.app.roomcast.connections.disconnect(client.connectionId!, CloseCode.Draining)
  await inState(client, 'reconnecting')
  t.same(await client.leave('a'), { left: ['a'] }, 'leaving while not connected resolves at once')
  await inState(client, 'connected')
  t.same(client.rooms, [])
  await until(async () => (await server.app.roomcast.rooms.size('lobby')) === 0, 5000, 'lobby left again')
  t.equal(await server.app.roomcast.rooms.size('a'), 0)
})

t.test('a dead server is detected by the heartbeat timeout', async (t) => {
  // A server that answers the connection once, then never sends again.
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  t.teardown(() => new Promise<void>((resolve) => wss.close(() => resolve())))
  await new Promise((resolve) => wss.once('listening', resolve))
  const port = (wss.address() as { port: number }).port
  const sockets: ServerSocket[] = []
  const answers: string[] = []
  wss.on('connection', (socket) => {
    sockets.push(socket)
    socket.on('message', (raw) => answers.push(raw.toString()))
    socket.send(JSON.stringify({ event: 'connected', data: { connectionId: `c${sockets.length}`, rooms: [], heartbeat: { interval: 40, timeout: 120 } } }))
    if (sockets.length === 1) socket.send('{"event":"heartbeat"}')
  })
  t.teardown(() => sockets.forEach((socket) => socket.terminate()))

  const client = testClient(`ws://127.0.0.1:${port}/ws`, { auth: undefined, heartbeatGrace: 40 })
  t.teardown(() => client.close())
  await client.ready()
  t.equal(client.connectionId, 'c1')
  await until(() => answers.length === 1, 5000, 'the heartbeat answer')
  t.same(answers, ['{"event":"heartbeat"}'], 'the client answers heartbeats')
  const reconnecting = await nextEvent(client, 'reconnecting')
  t.equal(reconnecting.code, CloseCode.HeartbeatTimeout)
  await inState(client, 'connected')
  t.equal(client.connectionId, 'c2', 'reconnected to the server')
  t.equal(sockets.length, 2)
})

t.test('in ping mode silence is not taken for death', async (t) => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  t.teardown(() => new Promise<void>((resolve) => wss.close(() => resolve())))
  await new Promise((resolve) => wss.once('listening', resolve))
  const port = (wss.address() as { port: number }).port
  let connections = 0
  wss.on('connection', (socket) => {
    connections++
    socket.send(JSON.stringify({ event: 'connected', data: { connectionId: 'p', rooms: [], heartbeat: { interval: 20, timeout: 60, mode: 'ping' } } }))
    t.teardown(() => socket.terminate())
  })
  const client = testClient(`ws://127.0.0.1:${port}/ws`, { auth: undefined, heartbeatGrace: 20 })
  t.teardown(() => client.close())
  await client.ready()
  await delay(200)
  t.equal(client.state, 'connected')
  t.equal(connections, 1)
})

t.test('offline queue: bounded, flushed in order after reconnecting', async (t) => {
  let server = await startTestServer()
  t.teardown(() => server.close())
  const client = testClient(server.url, { queue: 3, reconnect: { minDelay: 5, maxDelay: 20 } })
  t.teardown(() => client.close())
  await client.ready()
  client.emit('note', { n: 0 })
  await until(() => server.notes.length === 1, 5000, 'the first note')
  const port = server.port
  await server.close()
  await inState(client, 'reconnecting')

  client.emit('note', { n: 1 })
  client.emit('note', { n: 2 })
  const reply = client.request('echo', { text: 'queued' })
  t.equal(client.queued, 3)
  t.throws(() => client.emit('note', { n: 3 }), { code: 'not_sent', message: /queue is full \(3\)/ })
  t.equal((await rejection(client.request('echo', { text: 'too many' }))).code, 'not_sent')

  server = await startTestServer({}, port)
  t.same(await reply, { text: 'queued', userId: 'alice' })
  await until(() => server.notes.length === 2, 5000, 'the queued notes')
  t.same(server.notes, [1, 2], 'in order, the refused one never sent')
  t.equal(client.queued, 0)
})

t.test('queue 0 refuses at once while not connected; requests in flight reject on a drop', async (t) => {
  const server = await startTestServer()
  t.teardown(() => server.close())
  const client = testClient(server.url, { queue: 0 })
  t.teardown(() => client.close())
  t.throws(() => client.emit('note', { n: 1 }), { code: 'not_sent', message: /queueing is off/ })
  t.equal((await rejection(client.join('r'))).code, 'not_sent')
  await client.ready()
  const stalled = client.request('stall', {})
  await delay(10)
  await server.app.roomcast.connections.disconnect(client.connectionId!, CloseCode.Draining)
  const error = await rejection(stalled)
  t.equal(error.code, 'disconnected')
  await inState(client, 'connected')
  t.same(await client.request('echo', { text: 'again' }), { text: 'again', userId: 'alice' })
})

t.test('a request queued offline times out from the call, and is never sent', async (t) => {
  let server = await startTestServer()
  t.teardown(() => server.close())
  const client = testClient(server.url, { reconnect: { minDelay: 5, maxDelay: 10 } })
  t.teardown(() => client.close())
  await client.ready()
  const port = server.port
  await server.close()
  await inState(client, 'reconnecting')
  const error = await rejection(client.request('note', { n: 9 }, { timeout: 30 }))
  t.equal(error.code, 'timeout')
  t.equal(client.queued, 0)
  server = await startTestServer({}, port)
  await inState(client, 'connected')
  await client.request('echo', { text: 'sync' })
  t.same(server.notes, [])
})

t.test('reconnect.maxAttempts gives up; reconnect: false never retries', async (t) => {
  const server = await startTestServer()
  const url = server.url
  const client = testClient(url, { reconnect: { minDelay: 5, maxDelay: 10, maxAttempts: 2 } })
  t.teardown(() => client.close())
  await client.ready()
  const once = testClient(url, { reconnect: false })
  t.teardown(() => once.close())
  await once.ready()
  const gaveUp = nextEvent(client, 'disconnected')
  const ended = nextEvent(once, 'disconnected')
  await server.close()
  const info = await gaveUp
  t.match(info.error.message, /gave up after 2 failed attempts/)
  t.equal(client.state, 'disconnected')
  const single = await ended
  t.equal(single.code, CloseCode.ServerShutdown)
  t.match(single.error.message, /reconnection is off/)
})
