import t from 'tap'
import { canTransition, CloseCode, type ClientState } from '../../client/index.js'
import { StateMachine } from '../../client/state.js'
import { inState, nextEvent, rejection, startTestServer, testClient } from '../helpers/client.js'
import { delay, until } from '../helpers/server.js'

t.test('the state machine allows only the table transitions', async (t) => {
  const seen: string[] = []
  const machine = new StateMachine('closed', (state, previous) => seen.push(`${previous}>${state}`))
  t.throws(() => machine.to('connected'), /illegal state transition closed -> connected/)
  machine.to('connecting')
  t.throws(() => machine.to('connecting'), /illegal/)
  machine.to('authenticating')
  machine.to('connected')
  t.throws(() => machine.to('authenticating'), /illegal/)
  machine.to('reconnecting')
  t.throws(() => machine.to('connected'), /illegal/, 'a retry goes through connecting first')
  machine.to('disconnected')
  t.equal(machine.stopped, true)
  t.same(seen, ['closed>connecting', 'connecting>authenticating', 'authenticating>connected', 'connected>reconnecting', 'reconnecting>disconnected'])
  t.equal(canTransition('disconnected', 'reconnecting'), false, 'a terminal disconnect never reconnects on its own')
  t.equal(canTransition('closed', 'reconnecting'), false)
})

t.test('every state change is observable, through a reconnection to close()', async (t) => {
  const server = await startTestServer()
  t.teardown(() => server.close())
  const client = testClient(server.url, { autoConnect: false })
  t.equal(client.state, 'closed')
  const states: ClientState[] = []
  const previous: ClientState[] = []
  client.on('state', (change) => {
    states.push(change.state)
    previous.push(change.previous)
  })
  const connected: boolean[] = []
  client.on('connected', (info) => connected.push(info.reconnected))
  client.connect()
  await client.ready()
  const id = client.connectionId!
  await server.app.roomcast.connections.disconnect(id, CloseCode.Draining, 'draining')
  const reconnecting = await nextEvent(client, 'reconnecting')
  t.equal(reconnecting.code, CloseCode.Draining)
  t.equal(reconnecting.reason, 'draining')
  t.equal(reconnecting.attempt, 1)
  await inState(client, 'connected')
  t.not(client.connectionId, id, 'a new connection')
  client.close()
  t.same(states, ['connecting', 'authenticating', 'connected', 'reconnecting', 'connecting', 'authenticating', 'connected', 'closed'])
  t.same(previous, ['closed', 'connecting', 'authenticating', 'connected', 'reconnecting', 'connecting', 'authenticating', 'connected'])
  t.same(connected, [false, true])
})

t.test('the auth function is called again on every reconnect (token refresh)', async (t) => {
  const tokens: unknown[] = []
  const server = await startTestServer({
    authenticate: async (data) => {
      tokens.push(data)
      return { userId: 'dana' }
    },
  })
  t.teardown(() => server.close())
  let issued = 0
  const attempts: number[] = []
  const client = testClient(server.url, {
    auth: async ({ attempt }) => {
      attempts.push(attempt)
      await delay(1)
      return { token: `token-${++issued}` }
    },
  })
  t.teardown(() => client.close())
  await client.ready()
  await server.app.roomcast.connections.disconnect(client.connectionId!, CloseCode.InternalError, 'oops')
  await inState(client, 'reconnecting')
  await inState(client, 'connected')
  t.same(tokens, [{ token: 'token-1' }, { token: 'token-2' }])
  t.same(attempts, [0, 1])
})

t.test('a failing auth function is reported and retried after a backoff', async (t) => {
  const server = await startTestServer()
  t.teardown(() => server.close())
  let calls = 0
  const client = testClient(server.url, {
    auth: () => {
      if (++calls === 1) throw new Error('token service down')
      return { name: 'erin' }
    },
  })
  t.teardown(() => client.close())
  const error = await nextEvent(client, 'error')
  t.equal(error.code, 'auth_failed')
  t.match(error.message, /token service down/)
  await client.ready()
  t.equal(client.userId, 'erin')
  t.equal(calls, 2)
})

t.test('auth refused (4003): typed error, terminal, no reconnect loop', async (t) => {
  let connections = 0
  const server = await startTestServer({ authenticate: async () => null })
  t.teardown(() => server.close())
  server.app.roomcast.addHook('connection', () => {
    connections++
  })
  const client = testClient(server.url)
  t.teardown(() => client.close())
  const disconnected = nextEvent(client, 'disconnected')
  const error = await rejection(client.ready())
  t.equal(error.code, 'auth_refused')
  t.equal(error.message, 'authentication refused')
  const info = await disconnected
  t.equal(info.code, CloseCode.AuthRefused)
  t.equal(info.error, error)
  t.equal(client.state, 'disconnected')
  // Many backoff periods (10-40 ms) later: still one connection, still disconnected.
  await delay(300)
  t.equal(connections, 1)
  t.equal(client.state, 'disconnected')
  t.equal((await rejection(client.ready())).code, 'auth_refused', 'ready() keeps rejecting with the reason')
  t.throws(() => client.emit('echo', { text: 'x' }), { code: 'not_sent' })
})

t.test('kicked (4004) ends the client; connect() starts it again', async (t) => {
  const server = await startTestServer()
  t.teardown(() => server.close())
  const client = testClient(server.url)
  t.teardown(() => client.close())
  await client.ready()
  await client.join('r1')
  const disconnected = nextEvent(client, 'disconnected')
  await server.app.roomcast.connections.disconnect(client.connectionId!)
  const info = await disconnected
  t.equal(info.code, CloseCode.Kicked)
  t.equal(info.error.code, 'disconnected')
  t.equal(client.state, 'disconnected')
  client.connect()
  await client.ready()
  t.same(client.rooms, ['r1'], 'rooms are kept for an explicit reconnect')
  t.equal(await server.app.roomcast.rooms.size('r1'), 1)
})

t.test('close() rejects what is pending and leaves no timers or sockets', async (t) => {
  const server = await startTestServer()
  t.teardown(() => server.close())
  const count = (kind: string): number => process.getActiveResourcesInfo().filter((name) => name === kind).length
  // Let the server's own start-up settle before taking the baseline.
  await delay(20)
  const timers = count('Timeout')
  const sockets = count('TCPSocketWrap')

  let disconnects = 0
  server.app.roomcast.addHook('disconnect', () => {
    disconnects++
  })
  const client = testClient(server.url, { heartbeatGrace: 1000 })
  await client.ready()
  const pending = client.request('stall', {}, { timeout: 60_000 })
  await delay(10)
  t.ok(count('Timeout') > timers, 'the client holds timers while connected')
  const closed = nextEvent(client, 'closed')
  client.close()
  await closed
  t.equal((await rejection(pending)).code, 'disconnected')
  t.equal(client.state, 'closed')
  await until(() => disconnects === 1, 5000, 'the server saw the close')
  await until(() => count('TCPSocketWrap') === sockets, 5000, 'the socket is gone')
  t.equal(count('Timeout'), timers, 'no timer left')
  t.equal((await rejection(client.ready())).code, 'disconnected')
  t.throws(() => client.emit('echo', { text: 'x' }), { code: 'not_sent' })

  // Closing while a retry is scheduled cancels it too.
  await server.close()
  const timersWithoutServer = count('Timeout')
  const retrying = testClient(`ws://127.0.0.1:${server.port}/ws`, { reconnect: { minDelay: 60_000, maxDelay: 60_000 } })
  await nextEvent(retrying, 'reconnecting')
  t.equal(count('Timeout'), timersWithoutServer + 1, 'one retry timer while reconnecting')
  retrying.close()
  t.equal(retrying.state, 'closed')
  t.equal(count('Timeout'), timersWithoutServer, 'the retry timer is gone')
})

t.test('a server close with 1000 (connection.close()) ends the client; a 1000 from this side is retried', async (t) => {
  const server = await startTestServer()
  t.teardown(() => server.close())
  const client = testClient(server.url)
  t.teardown(() => client.close())
  await client.ready()
  const disconnected = nextEvent(client, 'disconnected')
  server.app.roomcast.connections.get(client.connectionId!)!.close()
  const info = await disconnected
  t.equal(info.code, CloseCode.Normal)
  t.equal(info.error.code, 'disconnected')
  await delay(60)
  t.equal(client.state, 'disconnected', 'no reconnection after the server said goodbye')
  t.equal(server.app.roomcast.connections.count(), 0)
})

t.test('a server that requires encryption ends a client without a transform (4010), instead of a retry loop', async (t) => {
  const server = await startTestServer({ encryption: 'required', authTimeout: 80 })
  t.teardown(() => server.close())
  const client = testClient(server.url)
  t.teardown(() => client.close())
  const info = await nextEvent(client, 'disconnected')
  t.equal(info.code, CloseCode.EncryptionRequired)
  t.equal(info.error.code, 'encryption_failed')
  t.match(info.error.message, /clientEncryption/)
  await delay(60)
  t.equal(client.state, 'disconnected')
})
