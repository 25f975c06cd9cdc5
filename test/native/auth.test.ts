import t from 'tap'
import type { FastifyRequest } from 'fastify'
import { RawClient, connect, delay, expectRefusedUpgrade, startServer, until } from '../helpers/server.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const heartbeat = { interval: 30_000, timeout: 90_000 }

t.test('without any authentication configured, a socket is connected at once', async (t) => {
  const { app, url } = await startServer({})
  t.teardown(() => app.close())
  const client = await RawClient.open(url)
  t.teardown(() => client.close())
  const connected = await client.next('connected')
  t.match(connected.data.connectionId, UUID)
  t.same(connected, { event: 'connected', data: { connectionId: connected.data.connectionId, rooms: [], heartbeat } })
  t.equal(app.roomcast.connections.get(connected.data.connectionId)?.authenticated, true)
})

t.test('connection ids are distinct random UUIDs', async (t) => {
  const { app, url } = await startServer({})
  t.teardown(() => app.close())
  const ids = new Set<string>()
  for (let i = 0; i < 5; i++) {
    const { client, connected } = await connect(url)
    t.teardown(() => client.close())
    t.match(connected.data.connectionId, UUID)
    ids.add(connected.data.connectionId)
  }
  t.equal(ids.size, 5)
})

t.test('in-band authenticate: success answers with connected paired by id', async (t) => {
  const seen: Array<{ data: unknown; header: unknown }> = []
  const authenticatedHook: string[] = []
  const { app, url } = await startServer({
    authenticate: async (data: unknown, request: FastifyRequest) => {
      seen.push({ data, header: request.headers['x-test'] })
      return { userId: 'alice', metadata: { plan: 'pro' } }
    },
  })
  app.roomcast.addHook('authenticated', (connection) => {
    authenticatedHook.push(connection.userId ?? '?')
  })
  t.teardown(() => app.close())
  const client = await RawClient.open(url, { headers: { 'x-test': 'yes' } })
  t.teardown(() => client.close())
  const connected = await client.request('authenticate', { token: 't1' })
  t.same(connected, {
    event: 'connected',
    id: 1,
    data: { connectionId: connected.data.connectionId, userId: 'alice', rooms: [], heartbeat },
  })
  t.same(seen, [{ data: { token: 't1' }, header: 'yes' }])
  t.same(authenticatedHook, ['alice'])
  const connection = app.roomcast.connections.get(connected.data.connectionId)
  t.equal(connection?.userId, 'alice')
  t.same(connection?.metadata, { plan: 'pro' })
  t.equal(client.all('connected').length, 1, 'no second connected frame')
})

t.test('in-band authenticate: an identity without userId is connected anonymously', async (t) => {
  const { app, url } = await startServer({ authenticate: () => ({}) })
  t.teardown(() => app.close())
  const { client, connected } = await connect(url, {})
  t.teardown(() => client.close())
  t.same(connected, { event: 'connected', id: 1, data: { connectionId: connected.data.connectionId, rooms: [], heartbeat } })
})

t.test('in-band authenticate: null refuses with auth_refused and close 4003', async (t) => {
  const disconnects: Array<{ code: number; reason: string }> = []
  const { app, url } = await startServer({ authenticate: () => null })
  app.roomcast.addHook('disconnect', (_connection, info) => {
    disconnects.push(info)
  })
  t.teardown(() => app.close())
  const client = await RawClient.open(url)
  t.teardown(() => client.close())
  const reply = await client.request('authenticate', { token: 'bad' })
  t.same(reply, { event: 'error', id: 1, data: { code: 'auth_refused', message: 'authentication refused', event: 'authenticate' } })
  t.same(await client.whenClosed(), { code: 4003, reason: 'authentication refused' })
  t.same(disconnects, [{ code: 4003, reason: 'authentication refused' }])
  t.equal(app.roomcast.connections.count(), 0)
})

t.test('in-band authenticate: a throwing hook refuses with 4003 and leaks nothing', async (t) => {
  const { app, url } = await startServer({
    authenticate: async () => {
      throw new Error('database password is hunter2')
    },
  })
  t.teardown(() => app.close())
  const client = await RawClient.open(url)
  t.teardown(() => client.close())
  const reply = await client.request('authenticate', {})
  t.same(reply, { event: 'error', id: 1, data: { code: 'auth_refused', message: 'authentication failed', event: 'authenticate' } })
  t.same(await client.whenClosed(), { code: 4003, reason: 'authentication failed' })
})

t.test('in-band authenticate: no authenticate within authTimeout closes with 4001', async (t) => {
  const { app, url } = await startServer({ authenticate: () => ({ userId: 'u' }), authTimeout: 80 })
  t.teardown(() => app.close())
  const client = await RawClient.open(url)
  t.teardown(() => client.close())
  t.same(await client.whenClosed(), { code: 4001, reason: 'authentication timed out' })
  t.same(client.frames, [], 'nothing but the close')
  await until(() => app.roomcast.connections.count() === 0)
})

t.test('in-band authenticate: of connections opened together, only the silent ones time out, each after authTimeout', async (t) => {
  const { app, url } = await startServer({ authenticate: (data) => ({ userId: String((data as { user: string }).user) }), authTimeout: 150 })
  t.teardown(() => app.close())
  const clients = await Promise.all(Array.from({ length: 12 }, () => RawClient.open(url)))
  t.teardown(() => clients.forEach((client) => client.close()))
  const opened = Date.now()
  // Every other client authenticates: synchronously answered, so `connected` arrives at once.
  const authenticated = clients.filter((_, i) => i % 2 === 0)
  const silent = clients.filter((_, i) => i % 2 === 1)
  await Promise.all(authenticated.map((client, i) => client.request('authenticate', { user: `u${i}` })))
  const closes = await Promise.all(silent.map((client) => client.whenClosed()))
  t.ok(Date.now() - opened >= 140, 'no connection closed before its deadline')
  t.same(
    closes,
    silent.map(() => ({ code: 4001, reason: 'authentication timed out' })),
  )
  await delay(50)
  t.same(
    authenticated.map((client) => client.ws.readyState),
    authenticated.map(() => 1),
    'authenticated connections stay open past the deadline',
  )
  t.equal(app.roomcast.connections.count(), authenticated.length)
  // A connection opened later gets its own full timeout, not the first batch's.
  const late = await RawClient.open(url)
  t.teardown(() => late.close())
  const lateOpened = Date.now()
  t.same(await late.whenClosed(), { code: 4001, reason: 'authentication timed out' })
  t.ok(Date.now() - lateOpened >= 140, 'the late connection had its whole authTimeout')
})

t.test('in-band authenticate: a hook slower than authTimeout still times out with 4001', async (t) => {
  let release: () => void = () => {}
  const { app, url } = await startServer({
    authenticate: () => new Promise((resolve) => (release = () => resolve({ userId: 'late' }))),
    authTimeout: 80,
  })
  t.teardown(() => app.close())
  const client = await RawClient.open(url)
  t.teardown(() => client.close())
  client.send({ event: 'authenticate', data: {}, id: 1 })
  t.same(await client.whenClosed(), { code: 4001, reason: 'authentication timed out' })
  release()
  await delay(20)
  t.same(client.all('connected'), [], 'a late identity does not authenticate a closed connection')
  t.equal(app.roomcast.connections.count(), 0)
})

t.test('before authentication, other events get not_authenticated and the socket stays open', async (t) => {
  const { app, url } = await startServer({ authenticate: () => ({ userId: 'bob' }) })
  app.roomcast.on('ping', () => 'pong')
  t.teardown(() => app.close())
  const client = await RawClient.open(url)
  t.teardown(() => client.close())
  t.same(await client.request('ping', {}), {
    event: 'error',
    id: 1,
    data: { code: 'not_authenticated', message: 'authenticate first', event: 'ping' },
  })
  t.same(await client.request('join', { rooms: ['a'] }), {
    event: 'error',
    id: 2,
    data: { code: 'not_authenticated', message: 'authenticate first', event: 'join' },
  })
  client.send({ event: 'ping' })
  t.same(await client.next('error'), { event: 'error', data: { code: 'not_authenticated', message: 'authenticate first', event: 'ping' } })
  const connected = await client.request('authenticate', {})
  t.equal(connected.event, 'connected')
  t.equal(connected.data.userId, 'bob')
  t.same(await client.request('ping', {}), { event: 'ack', id: 4, data: 'pong' })
})

t.test('authenticate twice gets already_authenticated; so does one sent while the first is pending', async (t) => {
  let release: () => void = () => {}
  const { app, url } = await startServer({
    authenticate: () => new Promise((resolve) => (release = () => resolve({ userId: 'carol' }))),
  })
  t.teardown(() => app.close())
  const client = await RawClient.open(url)
  t.teardown(() => client.close())
  const first = client.request('authenticate', {})
  t.same(await client.request('authenticate', {}), {
    event: 'error',
    id: 2,
    data: { code: 'already_authenticated', message: 'authentication is in progress', event: 'authenticate' },
  })
  release()
  t.equal((await first).event, 'connected')
  t.same(await client.request('authenticate', {}), {
    event: 'error',
    id: 3,
    data: { code: 'already_authenticated', message: 'the connection is already authenticated', event: 'authenticate' },
  })
  t.equal(client.closed, undefined)
})

t.test('authenticate without an authenticate hook gets already_authenticated', async (t) => {
  const { app, url } = await startServer({})
  t.teardown(() => app.close())
  const { client } = await connect(url)
  t.teardown(() => client.close())
  t.same(await client.request('authenticate', {}), {
    event: 'error',
    id: 1,
    data: { code: 'already_authenticated', message: 'the connection is already authenticated', event: 'authenticate' },
  })
})

t.test('authenticateRequest: an identity connects at once, with its userId', async (t) => {
  const { app, url } = await startServer({
    authenticateRequest: (request) => (request.headers.authorization === 'Bearer good' ? { userId: 'dave', metadata: { via: 'header' } } : null),
    // In-band auth is configured too, but the pre-upgrade identity wins and no timer runs.
    authenticate: () => null,
    authTimeout: 50,
  })
  t.teardown(() => app.close())
  const client = await RawClient.open(url, { headers: { authorization: 'Bearer good' } })
  t.teardown(() => client.close())
  const connected = await client.next('connected')
  t.same(connected, { event: 'connected', data: { connectionId: connected.data.connectionId, userId: 'dave', rooms: [], heartbeat } })
  t.same(app.roomcast.connections.get(connected.data.connectionId)?.metadata, { via: 'header' })
  await delay(120)
  t.equal(client.closed, undefined, 'the auth timer never ran')
  t.same(await client.request('authenticate', {}), {
    event: 'error',
    id: 1,
    data: { code: 'already_authenticated', message: 'the connection is already authenticated', event: 'authenticate' },
  })
})

t.test("authenticateRequest under refuseUpgradeWith 'http': null is HTTP 401 with a JSON body and no socket", async (t) => {
  let sockets = 0
  const { app, url } = await startServer({ authenticateRequest: () => null, refuseUpgradeWith: 'http' })
  app.roomcast.addHook('connection', () => {
    sockets++
  })
  t.teardown(() => app.close())
  const refusal = await expectRefusedUpgrade(url)
  t.same(refusal, { statusCode: 401, body: { error: 'Unauthorized', code: 'auth_refused', message: 'authentication refused' } })
  t.equal(sockets, 0)
  t.equal(app.roomcast.connections.count(), 0)
})

t.test("authenticateRequest under refuseUpgradeWith 'http': a refusal carries its status and message", async (t) => {
  const { app, url } = await startServer({
    authenticateRequest: async () => ({ refuse: true as const, statusCode: 403, message: 'banned' }),
    refuseUpgradeWith: 'http',
  })
  t.teardown(() => app.close())
  t.same(await expectRefusedUpgrade(url), { statusCode: 403, body: { error: 'Forbidden', code: 'auth_refused', message: 'banned' } })
  t.equal(app.roomcast.connections.count(), 0)
})

t.test('authenticateRequest: undefined falls through to in-band authenticate', async (t) => {
  const { app, url } = await startServer({
    authenticateRequest: () => undefined,
    authenticate: (data) => ((data as { name?: string }).name === 'erin' ? { userId: 'erin' } : null),
    authTimeout: 2000,
  })
  t.teardown(() => app.close())
  const client = await RawClient.open(url)
  t.teardown(() => client.close())
  await delay(30)
  t.same(client.frames, [], 'not connected before authenticate')
  const connected = await client.request('authenticate', { name: 'erin' })
  t.same(connected.data.userId, 'erin')
  t.equal(connected.id, 1)
})

t.test('injectWS: pre-upgrade identity and refusal without a listening server', async (t) => {
  const { app } = await startServer({
    authenticateRequest: (request) => (request.headers['x-user'] === undefined ? null : { userId: String(request.headers['x-user']) }),
    refuseUpgradeWith: 'http',
    // injectWS's in-memory stream never reports the TCP close, so shutdown waits out the grace period.
    closeGracePeriod: 50,
  })
  t.teardown(() => app.close())
  // The server sends `connected` before the client's `open` resolves: listen from the start.
  let first: (text: string) => void = () => {}
  const firstMessage = new Promise<string>((resolve) => (first = resolve))
  const ws = await app.injectWS('/ws', { headers: { 'x-user': 'frank' } }, { onInit: (socket) => socket.once('message', (raw) => first(raw.toString())) })
  t.teardown(() => ws.terminate())
  const connected = JSON.parse(await firstMessage)
  t.same(connected, { event: 'connected', data: { connectionId: connected.data.connectionId, userId: 'frank', rooms: [], heartbeat } })
  await t.rejects(app.injectWS('/ws'), { message: 'Unexpected server response: 401' })
})
