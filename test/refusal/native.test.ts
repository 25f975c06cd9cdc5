import { connect as tcpConnect } from 'node:net'
import t, { type Test } from 'tap'
import { AuthRefusedError, CloseCode, type ClientState } from '../../client/index.js'
import type { FastifyRequest } from 'fastify'
import type { RoomcastOptions } from '../../plugin/index.js'
import { nextEvent, rejection, startTestServer, testClient, type TestEvents, type TestServer } from '../helpers/client.js'
import { expectRefusedUpgrade, RawClient, within } from '../helpers/server.js'

/** Lets `?token=good` in as `good`; refuses anything else with the refusal given. */
function tokenGate(refusal: null | { refuse: true; statusCode?: number; message?: string }): RoomcastOptions<TestEvents>['authenticateRequest'] {
  return (request: FastifyRequest) => ((request.query as { token?: string }).token === 'good' ? { userId: 'good' } : refusal)
}

/** A test server that counts the upgrade requests reaching its native route. */
async function gatedServer(options: RoomcastOptions<TestEvents>): Promise<{ server: TestServer; upgrades: () => number }> {
  const server = await startTestServer(options)
  let upgrades = 0
  server.app.server.on('upgrade', (request: { url?: string }) => {
    if (request.url?.startsWith('/ws') === true) upgrades++
  })
  return { server, upgrades: () => upgrades }
}

/**
 * After a client ended, no attempt of its own may follow: a second client's full round trip
 * happens after the first one's end, and the server then has seen exactly one more upgrade.
 */
async function noAttemptFollows(t: Test, server: TestServer, upgrades: () => number, before: number): Promise<void> {
  const good = testClient(`${server.url}?token=good`)
  t.teardown(() => good.close())
  t.same(await good.request('echo', { text: 'after' }), { text: 'after', userId: 'good' })
  t.equal(upgrades(), before + 1, 'the refused client made no attempt after it ended')
}

t.test("refuseUpgradeWith 'close' (default): the upgrade completes and closes at once with 4003 and the status", async (t) => {
  let refusal: { refuse: true; statusCode?: number; message?: string } | null = null
  let hooked = 0
  const { server } = await gatedServer({ authenticateRequest: (request) => tokenGate(refusal)!(request), closeGracePeriod: 200 })
  t.teardown(() => server.close())
  server.app.roomcast.addHook('connection', () => {
    hooked++
  })

  const plain = await RawClient.open(server.url)
  t.same(await plain.whenClosed(), { code: CloseCode.AuthRefused, reason: 'auth_refused:401 authentication refused' })
  t.same(plain.frames, [], 'nothing but the close is sent')

  refusal = { refuse: true, statusCode: 403, message: 'banned' }
  const banned = await RawClient.open(server.url)
  t.same(await banned.whenClosed(), { code: CloseCode.AuthRefused, reason: 'auth_refused:403 banned' })

  refusal = { refuse: true, statusCode: 403, message: 'é'.repeat(200) }
  const long = await RawClient.open(server.url)
  const { reason } = await long.whenClosed()
  t.ok(reason.startsWith('auth_refused:403 éé'), 'a long message is cut, not dropped')
  t.ok(Buffer.byteLength(reason) <= 123, `the reason fits a close frame (${Buffer.byteLength(reason)} bytes)`)
  t.notOk(reason.includes('\uFFFD'), 'cut at a character boundary')

  // A plain HTTP request (no upgrade) has no socket to close: it gets the status.
  refusal = null
  const plainHttp = await server.app.inject({ method: 'GET', url: '/ws' })
  t.equal(plainHttp.statusCode, 401)
  t.same(plainHttp.json(), { error: 'Unauthorized', code: 'auth_refused', message: 'authentication refused' })

  // Not an authentication refusal: the client should come back later, so it stays HTTP.
  refusal = { refuse: true, statusCode: 429, message: 'slow down' }
  t.same(await expectRefusedUpgrade(server.url), { statusCode: 429, body: { error: 'Unauthorized', code: 'auth_refused', message: 'slow down' } })

  t.equal(hooked, 0, 'no refused socket became a connection')
  t.equal(server.app.roomcast.connections.count(), 0)
})

t.test('a refused peer that never answers the close is cut after closeGracePeriod, not kept for ws’s 30 s', async (t) => {
  const { server } = await gatedServer({ authenticateRequest: tokenGate(null), closeGracePeriod: 100 })
  t.teardown(() => server.close())
  const socket = tcpConnect(server.port, '127.0.0.1')
  t.teardown(() => socket.destroy())
  const received: Buffer[] = []
  socket.on('data', (chunk: Buffer) => received.push(chunk))
  socket.write(
    'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  )
  // The peer reads but never answers the close frame; only the server's grace can end this.
  await within(new Promise((resolve) => socket.once('close', resolve)), 10_000, 'the refused socket was not cut')
  const bytes = Buffer.concat(received)
  const head = bytes.indexOf('\r\n\r\n')
  t.match(bytes.subarray(0, head).toString(), /^HTTP\/1\.1 101 /)
  const frame = bytes.subarray(head + 4)
  t.equal(frame[0], 0x88, 'a close frame follows the 101, and nothing else')
  t.equal(frame.readUInt16BE(2), CloseCode.AuthRefused)
  t.equal(frame.subarray(4).toString(), 'auth_refused:401 authentication refused')
  t.equal(frame.length, 2 + frame[1]!, 'one frame only')
})

t.test("the client under 'close': ready() rejects with the reason and status, and it never tries again", async (t) => {
  const { server, upgrades } = await gatedServer({ authenticateRequest: tokenGate({ refuse: true, statusCode: 403, message: 'banned' }) })
  t.teardown(() => server.close())
  const client = testClient(`${server.url}?token=bad`, { autoConnect: false })
  t.teardown(() => client.close())
  const states: ClientState[] = []
  client.on('state', ({ state }) => states.push(state))
  client.on('reconnecting', () => t.fail('the refused client reconnected'))
  const disconnected = nextEvent(client, 'disconnected')
  client.connect()

  const error = await rejection(client.ready())
  t.ok(error instanceof AuthRefusedError, 'a typed error')
  t.match(error, { name: 'AuthRefusedError', code: 'auth_refused', status: 403, message: 'banned' })
  const info = await disconnected
  t.match(info, { code: CloseCode.AuthRefused, reason: 'auth_refused:403 banned', status: 403 })
  t.equal(info.error, error)
  t.equal(client.state, 'disconnected')
  t.same(states, ['connecting', 'authenticating', 'disconnected'])
  t.equal(upgrades(), 1)
  await noAttemptFollows(t, server, upgrades, 1)
  t.equal(client.state, 'disconnected')
  t.equal(await rejection(client.ready()), error, 'ready() keeps rejecting with the refusal')
})

t.test("the client under 'http' in Node: ws tells the status, so the refusal is terminal as well", async (t) => {
  const { server, upgrades } = await gatedServer({ authenticateRequest: tokenGate(null), refuseUpgradeWith: 'http' })
  t.teardown(() => server.close())
  const client = testClient(`${server.url}?token=bad`)
  t.teardown(() => client.close())
  client.on('reconnecting', () => t.fail('the refused client reconnected'))
  const disconnected = nextEvent(client, 'disconnected')

  const error = await rejection(client.ready())
  t.ok(error instanceof AuthRefusedError)
  t.match(error, { code: 'auth_refused', status: 401, message: 'authentication refused (HTTP 401)' })
  t.match(await disconnected, { code: 1006, status: 401 })
  await noAttemptFollows(t, server, upgrades, 1)
  t.equal(client.state, 'disconnected')
})

t.test('an upgrade refused with any other status is retried: only 401 and 403 are final', async (t) => {
  let calls = 0
  const { server } = await gatedServer({
    refuseUpgradeWith: 'http',
    authenticateRequest: () => (calls++ === 0 ? { refuse: true, statusCode: 429, message: 'slow down' } : { userId: 'patient' }),
  })
  t.teardown(() => server.close())
  const client = testClient(server.url)
  t.teardown(() => client.close())
  const reconnecting = nextEvent(client, 'reconnecting')
  await client.ready()
  t.match(await reconnecting, { attempt: 1, code: 1006 })
  t.equal(client.userId, 'patient')
})

t.test('an in-band refusal (authenticate returns null) is an AuthRefusedError without a status', async (t) => {
  const server = await startTestServer({ authenticate: () => null })
  t.teardown(() => server.close())
  const client = testClient(server.url)
  t.teardown(() => client.close())
  const disconnected = nextEvent(client, 'disconnected')
  const error = await rejection(client.ready())
  t.ok(error instanceof AuthRefusedError)
  t.match(error, { code: 'auth_refused', status: undefined, message: 'authentication refused' })
  const info = await disconnected
  t.equal(info.code, CloseCode.AuthRefused)
  t.notOk('status' in info, 'no status for an in-band refusal')
})

t.test('refuseUpgradeWith is checked', async (t) => {
  await t.rejects(startTestServer({ refuseUpgradeWith: 'silently' as 'close' }), { message: "roomcast: refuseUpgradeWith must be 'close' or 'http'" })
})
