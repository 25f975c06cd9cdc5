import net, { type Socket } from 'node:net'
import websocket from '@fastify/websocket'
import Fastify from 'fastify'
import t from 'tap'
import roomcast from '../../plugin/index.js'
import { RawClient, connect, connectMany, delay, socketOf, startServer, within } from '../helpers/server.js'

const shutdown = { code: 1001, reason: 'server shutting down' }

function timers(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length
}

t.test('app.close() closes every socket with 1001, runs disconnect hooks, clears timers and resolves', async (t) => {
  await delay(5)
  const baseline = timers()
  const disconnects: number[] = []
  const { app, url } = await startServer({
    authenticate: (data) => ({ userId: String((data as { user: string }).user) }),
    authTimeout: 60_000,
    heartbeat: { interval: 50, timeout: 150 },
  })
  app.roomcast.addHook('disconnect', (_connection, info) => {
    disconnects.push(info.code)
  })
  const authenticated = await connectMany(url, 5, (i) => ({ user: `u${i}` }))
  for (const { client } of authenticated) await client.request('join', { rooms: ['r'] })
  // Still authenticating: its auth timer is pending when the app closes.
  const pending = await RawClient.open(url)
  t.teardown(() => [pending, ...authenticated.map(({ client }) => client)].forEach((client) => client.close()))
  await delay(5)
  t.ok(timers() > baseline, 'timers run while serving')

  await app.close()
  for (const { client } of authenticated) t.same(await client.whenClosed(), shutdown)
  t.same(await pending.whenClosed(), shutdown)
  t.same(disconnects, [1001, 1001, 1001, 1001, 1001, 1001])
  t.equal(app.roomcast.connections.count(), 0)
  t.equal(timers(), baseline, 'no timer left behind')
  await t.rejects(RawClient.open(url), { code: 'ECONNREFUSED' }, 'new connections are refused')
})

t.test('app.close() with no connections resolves at once', async (t) => {
  const { app } = await startServer({})
  await app.close()
  t.pass()
})

t.test('closeGracePeriod: a client that never answers the close handshake is cut', async (t) => {
  const { app, url } = await startServer({ closeGracePeriod: 100 })
  const { client } = await connect(url)
  const { client: polite } = await connect(url)
  t.teardown(() => [client, polite].forEach((c) => c.close()))
  const [silent] = [...app.roomcast.connections].filter((connection) => connection.id !== undefined).slice(0, 1)
  // The client stops reading: it never sees the close frame, so it never answers it.
  ;(client.ws as unknown as { _socket: Socket })._socket.pause()
  // ws's own close timeout is 30 s; the grace period must cut well before that.
  await within(app.close(), 5000, 'shutdown waited for the silent client')
  t.equal(socketOf(silent!).readyState, socketOf(silent!).CLOSED, 'the server side socket is gone')
  t.same(await polite.whenClosed(), shutdown)
  ;(client.ws as unknown as { _socket: Socket })._socket.resume()
  const closed = await client.whenClosed()
  t.equal(closed.code, 1001, 'the close frame was sent before the cut')
})

t.test('upgrades that arrive while closing get no socket, even from a client that never hangs up', { timeout: 10_000 }, async (t) => {
  const { app, url, port } = await startServer({ closeGracePeriod: 300 })
  const { client } = await connect(url)
  t.teardown(() => client.close())
  // A connected client that stops reading keeps the shutdown in its grace period for a while.
  ;(client.ws as unknown as { _socket: Socket })._socket.pause()
  const closing = app.close()
  await delay(20)
  await t.rejects(RawClient.open(url), { message: 'HTTP 503' })

  // A raw client that asks for an upgrade and then never closes its end.
  const stubborn = net.connect(port, '127.0.0.1')
  t.teardown(() => stubborn.destroy())
  let answer = ''
  stubborn.on('data', (chunk: Buffer) => (answer += chunk.toString()))
  const ended = new Promise<void>((resolve) => stubborn.once('end', () => resolve()))
  stubborn.on('error', () => {})
  stubborn.write(
    'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  )
  await ended
  t.match(answer, /^HTTP\/1\.1 503 /, 'refused with 503, then the server hung up')
  await closing
  t.equal(app.roomcast.connections.count(), 0)
})

t.test('the app registered @fastify/websocket itself: roomcast sockets still close with 1001', { timeout: 10_000 }, async (t) => {
  const app = Fastify({ logger: false })
  await app.register(websocket)
  await app.register(roomcast, { closeGracePeriod: 500 })
  app.get('/own', { websocket: true }, () => {})
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as { port: number }).port
  const clients = await connectMany(`ws://127.0.0.1:${port}/ws`, 3)
  const own = await RawClient.open(`ws://127.0.0.1:${port}/own`)
  t.teardown(() => [own, ...clients.map(({ client }) => client)].forEach((client) => client.close()))
  await app.close()
  for (const { client } of clients) t.same(await client.whenClosed(), shutdown)
  t.equal(app.roomcast.connections.count(), 0)
  t.same(await own.whenClosed(), { code: 1005, reason: '' }, "the app's own sockets are still closed by its own preClose")
})
