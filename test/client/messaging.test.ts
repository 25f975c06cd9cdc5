import t from 'tap'
import WebSocket from 'ws'
import { RoomcastClient, RoomcastError, type MessageMeta } from '../../client/index.js'
import { inState, nextEvent, rejection, startTestServer, testClient } from '../helpers/client.js'
import { until } from '../helpers/server.js'

t.test('emit and on: a typed round trip through the server', async (t) => {
  const server = await startTestServer()
  t.teardown(() => server.close())
  const client = testClient(server.url)
  t.teardown(() => client.close())
  await client.ready()
  t.equal(client.state, 'connected')
  t.equal(client.userId, 'alice')
  t.type(client.connectionId, 'string')

  const received = new Promise<[{ text: string }, MessageMeta]>((resolve) => client.once('echoed', (data, meta) => resolve([data, meta])))
  client.emit('echo', { text: 'hello' })
  const [data, meta] = await received
  t.same(data, { text: 'hello' })
  t.same(meta, {}, 'a direct send carries no room')
})

t.test('room deliveries carry the room in meta', async (t) => {
  const server = await startTestServer()
  t.teardown(() => server.close())
  const alice = testClient(server.url)
  const bob = testClient(server.url, { auth: { name: 'bob' } })
  t.teardown(() => alice.close())
  t.teardown(() => bob.close())
  t.same(await alice.join('r1'), { joined: ['r1'], refused: [] })
  await bob.join(['r1', 'r2'])
  t.same(bob.rooms.sort(), ['r1', 'r2'])
  const heard = new Promise<[{ from: string; text: string }, MessageMeta]>((resolve) => bob.once('said', (data, meta) => resolve([data, meta])))
  alice.emit('say', { room: 'r1', text: 'hi room' })
  t.same(await heard, [{ from: 'alice', text: 'hi room' }, { room: 'r1' }])
  t.same(await bob.leave('r2'), { left: ['r2'] })
  t.same(bob.rooms, ['r1'])
})

t.test('data failing its schema is refused before anything is sent', async (t) => {
  let received = 0
  const server = await startTestServer({}, 0)
  t.teardown(() => server.close())
  server.app.roomcast.addHook('error', () => {
    received++
  })
  const client = testClient(server.url)
  t.teardown(() => client.close())
  await client.ready()

  const error = (() => {
    try {
      client.emit('echo', { text: 'x'.repeat(21) })
    } catch (error) {
      return error
    }
    return undefined
  })()
  t.ok(error instanceof RoomcastError)
  t.equal((error as RoomcastError).code, 'invalid_data')
  t.equal((error as RoomcastError).details?.[0]?.path, '/text')

  const viaRequest = await rejection(client.request('echo', { text: 5 as unknown as string }))
  t.equal(viaRequest.code, 'invalid_data')
  t.equal(viaRequest.details?.[0]?.path, '/text')

  // The next valid message is the first the server sees: the invalid ones never left.
  t.same(await client.request('echo', { text: 'ok' }), { text: 'ok', userId: 'alice' })
  t.equal(received, 0, 'the server reported no error')

  const protocol = await rejection(client.request('join' as never, { rooms: ['x'] } as never))
  t.equal(protocol.code, 'not_sent', 'protocol events cannot be sent as app events')
})

t.test('requests: ack, error reply with the server code, timeout', async (t) => {
  const server = await startTestServer()
  t.teardown(() => server.close())
  const client = testClient(server.url)
  t.teardown(() => client.close())

  t.same(await client.request('echo', { text: 'ping' }), { text: 'ping', userId: 'alice' }, 'requests made before connecting wait in the queue')

  const failed = await rejection(client.request('fail', { code: 'out_of_stock' }))
  t.ok(failed instanceof RoomcastError)
  t.equal(failed.code, 'out_of_stock')
  t.equal(failed.message, 'failed on purpose: out_of_stock')

  const timedOut = await rejection(client.request('stall', {}, { timeout: 50 }))
  t.equal(timedOut.code, 'timeout')
  t.equal(client.state, 'connected', 'a timeout does not drop the connection')
  t.same(await client.request('echo', { text: 'after' }), { text: 'after', userId: 'alice' })
})

t.test('join refusal rejects with the server code; partial refusals resolve', async (t) => {
  const server = await startTestServer({ authorizeJoin: ({ rooms }) => rooms.filter((room) => !room.startsWith('secret')) })
  t.teardown(() => server.close())
  const client = testClient(server.url)
  t.teardown(() => client.close())
  await client.ready()

  const refused = await rejection(client.join('secret-1'))
  t.equal(refused.code, 'join_refused')
  t.same(client.rooms, [])

  t.same(await client.join(['open', 'secret-2']), { joined: ['open'], refused: ['secret-2'] })
  t.same(client.rooms, ['open'])

  const invalid = await rejection(client.join(''))
  t.equal(invalid.code, 'invalid_room')
})

t.test('server errors that answer no request arrive as error events', async (t) => {
  const server = await startTestServer()
  t.teardown(() => server.close())
  const client = testClient(server.url, { validate: false })
  t.teardown(() => client.close())
  await client.ready()
  const error = nextEvent(client, 'error')
  client.emit('nonexistent' as never, {} as never)
  const received = await error
  t.ok(received instanceof RoomcastError)
  t.equal(received.code, 'unknown_event')
})

t.test('incoming payloads are validated: a mismatch is an error event, not a handler call', async (t) => {
  // A server without the events map sends whatever it is given, unchecked.
  const server = await startTestServer({ events: undefined })
  t.teardown(() => server.close())
  const client = testClient(server.url)
  t.teardown(() => client.close())
  await client.ready()
  let handled = 0
  client.on('echoed', () => {
    handled++
  })
  const error = nextEvent(client, 'error')
  await client.request('provoke', { event: 'echoed', data: { text: 42 } })
  const received = await error
  t.equal(received.code, 'invalid_data')
  t.equal(received.details?.[0]?.path, '/text')

  const unknown = nextEvent(client, 'error')
  await client.request('provoke', { event: 'mystery', data: {} })
  t.equal((await unknown).code, 'unknown_event')

  const reserved = nextEvent(client, 'error')
  await client.request('provoke', { event: 'state', data: {} })
  t.equal((await reserved).code, 'unknown_event', 'a server event named like a client event is not dispatched')

  client.emit('echo', { text: 'valid' })
  await until(() => handled === 1, 5000, 'the valid echo')
  t.equal(handled, 1)
})

t.test('presence events reach the members of a room', async (t) => {
  const server = await startTestServer({ presenceEvents: true })
  t.teardown(() => server.close())
  const alice = testClient(server.url)
  t.teardown(() => alice.close())
  await alice.join('hall')
  const presence = nextEvent(alice, 'presence')
  const bob = testClient(server.url, { auth: { name: 'bob' } })
  t.teardown(() => bob.close())
  await bob.join('hall')
  t.same(await presence, { room: 'hall', userId: 'bob', action: 'join' })
  const gone = nextEvent(alice, 'presence')
  await bob.leave('hall')
  t.same(await gone, { room: 'hall', userId: 'bob', action: 'leave' })
})

t.test('listeners: once, off, and a throwing listener reported as an error event', async (t) => {
  const server = await startTestServer()
  t.teardown(() => server.close())
  const client = testClient(server.url)
  t.teardown(() => client.close())
  await client.ready()
  const seen: string[] = []
  const keep = (data: { text: string }): void => {
    seen.push(`keep:${data.text}`)
  }
  client.on('echoed', keep)
  client.once('echoed', (data) => {
    seen.push(`once:${data.text}`)
    throw new Error('listener bug')
  })
  const error = nextEvent(client, 'error')
  await client.request('echo', { text: 'a' })
  const reported = await error
  t.equal(reported.code, 'handler_error')
  t.match(reported.message, /listener bug/)
  await client.request('echo', { text: 'b' })
  client.off('echoed', keep)
  await client.request('echo', { text: 'c' })
  t.same(seen, ['keep:a', 'once:a', 'keep:b'])
})

t.test('a relative or http URL is resolved to a WebSocket URL', async (t) => {
  const server = await startTestServer()
  t.teardown(() => server.close())
  const client = new RoomcastClient(server.url.replace('ws:', 'http:'), { WebSocket, auth: { name: 'carol' } })
  t.teardown(() => client.close())
  t.equal(client.url, server.url)
  await client.ready()
  t.equal(client.userId, 'carol')
  t.throws(() => new RoomcastClient('ftp://x/ws', { WebSocket }), { name: 'TypeError' })
})

t.test('data that is not JSON (a BigInt, a cycle) is refused with invalid_data, never thrown later', async (t) => {
  const server = await startTestServer()
  t.teardown(() => server.close())
  // Without `events`, nothing checks the data against a schema first.
  const client = testClient(server.url, { events: undefined })
  t.teardown(() => client.close())
  await client.ready()
  const untyped = client as unknown as {
    request(event: string, data: unknown, options?: { timeout?: number }): Promise<unknown>
    emit(event: string, data: unknown): void
  }
  const refused = await rejection(untyped.request('echo', { text: 10n }, { timeout: 200 }))
  t.equal(refused.code, 'invalid_data')
  const cycle: Record<string, unknown> = {}
  cycle.self = cycle
  t.throws(() => untyped.emit('note', cycle), { code: 'invalid_data' })
  // Queued while disconnected: refused at the call as well, so the queue never holds it.
  await server.app.roomcast.connections.disconnect(client.connectionId!, 4005, 'draining')
  await inState(client, 'reconnecting')
  t.throws(() => untyped.emit('note', { n: 1n }), { code: 'invalid_data' })
  await inState(client, 'connected')
  t.same(await untyped.request('echo', { text: 'fine' }), { text: 'fine', userId: 'alice' }, 'the client is unharmed')
})

t.test('rooms the server changes on its own are told to the client: kept in sync and never rejoined after a kick', async (t) => {
  const server = await startTestServer()
  t.teardown(() => server.close())
  const client = testClient(server.url)
  t.teardown(() => client.close())
  await client.ready()
  await client.join('own')
  const changes: Array<{ joined: string[]; left: string[] }> = []
  client.on('membership', (change) => changes.push(change))
  const id = client.connectionId!
  await server.app.roomcast.rooms.join(id, ['granted', 'own'])
  await until(() => changes.length === 1, 5000, 'membership after a server-side join')
  t.same(changes[0], { joined: ['granted'], left: [] }, 'only what changed')
  t.same(client.rooms.sort(), ['granted', 'own'])
  await server.app.roomcast.rooms.leave(id, 'own')
  await until(() => changes.length === 2, 5000, 'membership after a server-side leave')
  t.same(changes[1], { joined: [], left: ['own'] })
  t.same(client.rooms, ['granted'])
  await server.app.roomcast.rooms.leave(id, 'never-joined')
  await server.app.roomcast.connections.disconnect(id, 4005, 'draining')
  await inState(client, 'reconnecting')
  await inState(client, 'connected')
  t.same(client.rooms, ['granted'], 'the granted room is restored, the one taken away is not')
  t.equal(await server.app.roomcast.rooms.size('own'), 0)
  t.equal(await server.app.roomcast.rooms.size('granted'), 1)
  t.equal(changes.length, 2, 'a leave that changed nothing sends nothing')
})
