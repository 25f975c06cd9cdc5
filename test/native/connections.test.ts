import t from 'tap'
import { RawClient, connect, connectMany, expectRefusedUpgrade, startServer, until, within } from '../helpers/server.js'

const unavailable = { statusCode: 503, body: { error: 'Service Unavailable', code: 'unavailable', message: 'the server is not accepting connections' } }

t.test('get, count, iteration and the Connection fields', async (t) => {
  const { app, url } = await startServer({})
  t.teardown(() => app.close())
  t.equal(app.roomcast.connections.count(), 0)
  const clients = await connectMany(url, 3)
  t.teardown(() => clients.forEach(({ client }) => client.close()))
  const ids = clients.map(({ connected }) => connected.data.connectionId as string)
  t.equal(app.roomcast.connections.count(), 3)
  t.same([...app.roomcast.connections].map((connection) => connection.id).sort(), [...ids].sort())
  t.equal(await app.roomcast.connections.countAll(), 3)
  const connection = app.roomcast.connections.get(ids[0]!)!
  t.equal(connection.id, ids[0])
  t.equal(connection.protocol, 'native')
  t.equal(connection.remoteAddress, '127.0.0.1')
  t.equal(connection.state, 'authenticated')
  t.equal(connection.request.url, '/ws')
  t.type(connection.connectedAt, 'number')
  t.equal(connection.dropped, 0)
  t.equal(app.roomcast.connections.get('not-an-id'), undefined)

  clients[0]!.client.ws.close(1000)
  await until(() => app.roomcast.connections.count() === 2)
  t.equal(app.roomcast.connections.get(ids[0]!), undefined)
  t.equal(connection.state, 'closed')
})

t.test('send(id, event, data) reaches exactly that connection', async (t) => {
  const { app, url } = await startServer({})
  t.teardown(() => app.close())
  const [a, b] = await connectMany(url, 2)
  t.teardown(() => [a!.client, b!.client].forEach((client) => client.close()))
  app.roomcast.connections.send(a!.connected.data.connectionId, 'private', { secret: 42 })
  app.roomcast.connections.send('00000000-0000-4000-8000-000000000000', 'private', { secret: 0 })
  app.roomcast.connections.get(b!.connected.data.connectionId)!.send('direct', [1, 2])
  t.same(await a!.client.next('private'), { event: 'private', data: { secret: 42 } })
  t.same(await b!.client.next('direct'), { event: 'direct', data: [1, 2] })
  app.roomcast.broadcast('marker', 1)
  await Promise.all([a!.client.next('marker'), b!.client.next('marker')])
  t.same(b!.client.all('private'), [])
  t.same(a!.client.all('direct'), [])
})

t.test('connections.disconnect(id) and connection.close()', async (t) => {
  const disconnects: Array<{ code: number; reason: string }> = []
  const { app, url } = await startServer({})
  app.roomcast.addHook('disconnect', (_connection, info) => {
    disconnects.push(info)
  })
  t.teardown(() => app.close())
  const [a, b, c] = await connectMany(url, 3)
  t.teardown(() => [a!, b!, c!].forEach(({ client }) => client.close()))
  await a!.client.request('join', { rooms: ['r'] })
  t.equal(await app.roomcast.connections.disconnect(a!.connected.data.connectionId), 1)
  t.equal(await app.roomcast.connections.disconnect('00000000-0000-4000-8000-000000000000'), 0)
  t.same(await a!.client.whenClosed(), { code: 4004, reason: 'disconnected by the server' })
  t.same(await app.roomcast.rooms.list(), [], 'removed from its rooms at once')
  t.equal(await app.roomcast.connections.disconnect(b!.connected.data.connectionId, 4321, 'custom'), 1)
  t.same(await b!.client.whenClosed(), { code: 4321, reason: 'custom' })
  app.roomcast.connections.get(c!.connected.data.connectionId)!.close(4000, 'bye now')
  t.same(await c!.client.whenClosed(), { code: 4000, reason: 'bye now' })
  t.same(disconnects, [
    { code: 4004, reason: 'disconnected by the server' },
    { code: 4321, reason: 'custom' },
    { code: 4000, reason: 'bye now' },
  ])
})

t.test('closing with an unusable code or an over-long reason never throws', async (t) => {
  const { app, url } = await startServer({})
  t.teardown(() => app.close())
  const [a, b] = await connectMany(url, 2)
  t.teardown(() => [a!, b!].forEach(({ client }) => client.close()))
  t.doesNotThrow(() => app.roomcast.connections.get(a!.connected.data.connectionId)!.close(1006, 'reserved code'))
  t.same(await a!.client.whenClosed(), { code: 1011, reason: 'reserved code' })
  const long = 'é'.repeat(100)
  t.doesNotThrow(() => app.roomcast.connections.get(b!.connected.data.connectionId)!.close(4000, long))
  const closed = await b!.client.whenClosed()
  t.equal(closed.code, 4000)
  t.ok(Buffer.byteLength(closed.reason) <= 123)
  t.ok(long.startsWith(closed.reason))
})

t.test('closeAll(code, reason) closes everything; new connections are still accepted', async (t) => {
  const { app, url } = await startServer({})
  t.teardown(() => app.close())
  const clients = await connectMany(url, 4)
  t.teardown(() => clients.forEach(({ client }) => client.close()))
  await clients[0]!.client.request('join', { rooms: ['r'] })
  app.roomcast.connections.closeAll(4100, 'maintenance')
  t.equal(app.roomcast.connections.count(), 0)
  t.same(await app.roomcast.rooms.list(), [])
  for (const { client } of clients) t.same(await client.whenClosed(), { code: 4100, reason: 'maintenance' })
  const { client: again } = await connect(url)
  t.teardown(() => again.close())
  app.roomcast.connections.closeAll()
  t.same(await again.whenClosed(), { code: 1001, reason: 'server shutting down' })
})

t.test('drain closes gradually with its code, refuses upgrades with 503, and resolves', async (t) => {
  const disconnects: number[] = []
  const { app, url } = await startServer({})
  app.roomcast.addHook('disconnect', (_connection, info) => {
    disconnects.push(info.code)
  })
  t.teardown(() => app.close())
  const clients = await connectMany(url, 6)
  t.teardown(() => clients.forEach(({ client }) => client.close()))

  // 20 per second: two connections every 100 ms.
  const drained = app.roomcast.connections.drain({ perSecond: 20, code: 4005, reason: 'moving you' })
  t.equal(app.roomcast.connections.count(), 4, 'the first slice is closed at once, the rest later')
  t.same(await expectRefusedUpgrade(url), unavailable)
  await drained
  t.equal(app.roomcast.connections.count(), 0)
  for (const { client } of clients) t.same(await client.whenClosed(), { code: 4005, reason: 'moving you' })
  t.same(disconnects, [4005, 4005, 4005, 4005, 4005, 4005])
  t.same(await expectRefusedUpgrade(url), unavailable, 'a drained node stays closed to new sockets')
})

t.test('drain defaults: code 4005, reason draining; resolves at once with nothing to drain', async (t) => {
  const { app, url } = await startServer({})
  t.teardown(() => app.close())
  const { client } = await connect(url)
  t.teardown(() => client.close())
  await app.roomcast.connections.drain()
  t.same(await client.whenClosed(), { code: 4005, reason: 'draining' })
  await app.roomcast.connections.drain()
  t.pass('a second drain with no connections resolves')
})

t.test('drain skips connections that left on their own', async (t) => {
  const { app, url } = await startServer({})
  t.teardown(() => app.close())
  const clients = await connectMany(url, 3)
  t.teardown(() => clients.forEach(({ client }) => client.close()))
  const drained = app.roomcast.connections.drain({ perSecond: 1 })
  t.equal(app.roomcast.connections.count(), 2)
  for (const { client } of clients.slice(1)) client.ws.close(1000)
  await until(() => app.roomcast.connections.count() === 0)
  // Nothing is left to close: the drain must not keep ticking once a second for the departed.
  await t.resolves(within(drained, 500, 'still draining'))
})

t.test('app.close() during a slow drain resolves the drain and leaves no timer', async (t) => {
  const { app, url } = await startServer({ closeGracePeriod: 200 })
  const clients = await connectMany(url, 3)
  t.teardown(() => clients.forEach(({ client }) => client.close()))
  const drained = app.roomcast.connections.drain({ perSecond: 1 })
  await app.close()
  for (const { client } of clients.slice(1)) t.same(await client.whenClosed(), { code: 1001, reason: 'server shutting down' })
  await t.resolves(within(drained, 500, 'still draining'))
})

t.test('a raw client that connects while the drain runs is refused before any socket', async (t) => {
  const { app, url } = await startServer({})
  t.teardown(() => app.close())
  const { client } = await connect(url)
  t.teardown(() => client.close())
  const drained = app.roomcast.connections.drain({ perSecond: 1 })
  await t.rejects(RawClient.open(url), { message: 'HTTP 503' })
  await drained
})
