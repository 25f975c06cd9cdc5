// The events' `auth` schema: the server checks the `authenticate` data before its hook runs,
// and the client checks its own credentials before sending them.
import t, { type Test } from 'tap'
import WebSocket from 'ws'
import { RoomcastClient } from '../../client/index.js'
import { defineEvents, type RoomcastError, Type } from '../../shared/index.js'
import { RawClient, startServer } from '../helpers/server.js'

const events = defineEvents({
  auth: Type.Object({ token: Type.String({ minLength: 1 }) }),
  toServer: { ping: Type.Undefined() },
  toClient: {},
})

/** A server whose `authenticate` records what it was given and names the user by the token. */
async function server(t: Test): Promise<{ url: string; seen: unknown[]; errors: string[] }> {
  const seen: unknown[] = []
  const errors: string[] = []
  const { app, url } = await startServer({
    events,
    authenticate: (data) => {
      seen.push(data)
      return { userId: `user-${data.token}` }
    },
  })
  app.roomcast.addHook('error', (error) => void errors.push((error as RoomcastError).code))
  t.teardown(() => app.close())
  return { url, seen, errors }
}

t.test('credentials that match the schema reach authenticate, typed', async (t) => {
  const { url, seen } = await server(t)
  const client = await RawClient.open(url)
  t.teardown(() => client.close())
  const connected = await client.request('authenticate', { token: 'abc' })
  t.equal(connected.event, 'connected')
  t.equal(connected.data.userId, 'user-abc')
  t.same(seen, [{ token: 'abc' }])
})

t.test('credentials that fail the schema are refused with their details, and never reach authenticate', async (t) => {
  const { url, seen, errors } = await server(t)
  const client = await RawClient.open(url)
  t.teardown(() => client.close())
  const reply = await client.request('authenticate', { token: 42 })
  t.same(reply, {
    event: 'error',
    id: 1,
    data: {
      code: 'invalid_data',
      message: 'data of "authenticate" does not match its schema',
      event: 'authenticate',
      details: [{ path: '/token', message: 'Expected string' }],
    },
  })
  t.same(await client.whenClosed(), { code: 4003, reason: 'invalid authentication data' })
  t.same(seen, [], 'the hook was not called')
  t.same(errors, ['invalid_data'], 'the error hook heard of it')
})

t.test('no credentials at all fail the schema too', async (t) => {
  const { url, seen } = await server(t)
  const client = await RawClient.open(url)
  t.teardown(() => client.close())
  const reply = await client.request('authenticate')
  t.equal(reply.data.code, 'invalid_data')
  t.equal((await client.whenClosed()).code, 4003)
  t.same(seen, [])
})

t.test('the client refuses to send credentials that fail the schema, and tries again with fresh ones', async (t) => {
  const { url, seen } = await server(t)
  let attempts = 0
  const client = new RoomcastClient<typeof events>(url, {
    WebSocket,
    events,
    // The first attempt produces an empty token (a bug, say); the next one a good token.
    auth: () => ({ token: attempts++ === 0 ? '' : 'fresh' }),
    reconnect: { minDelay: 10, maxDelay: 20 },
  })
  t.teardown(() => client.close())
  const errors: RoomcastError[] = []
  client.on('error', (error) => void errors.push(error))
  await client.ready()
  t.equal(client.userId, 'user-fresh')
  t.equal(errors.length, 1)
  t.equal(errors[0]!.code, 'invalid_data')
  t.same(errors[0]!.details, [{ path: '/token', message: 'Expected string length greater or equal to 1' }])
  t.same(seen, [{ token: 'fresh' }], 'the bad credentials never left the client')
})

t.test("the server's refusal of unchecked credentials ends the client with the schema's complaints", async (t) => {
  const { url, seen } = await server(t)
  // Without validation the client sends what it was given; the server's check refuses it.
  const client = new RoomcastClient<typeof events>(url, { WebSocket, events, validate: false, auth: { token: '' }, reconnect: { minDelay: 10, maxDelay: 20 } })
  t.teardown(() => client.close())
  const disconnected = await new Promise<{ code: number; error: RoomcastError }>((resolve) => client.once('disconnected', resolve))
  t.equal(client.state, 'disconnected')
  t.equal(disconnected.code, 4003)
  t.equal(disconnected.error.code, 'invalid_data')
  t.same(disconnected.error.details, [{ path: '/token', message: 'Expected string length greater or equal to 1' }])
  t.same(seen, [])
})

t.test('defineEvents refuses an auth that is not a schema', async (t) => {
  t.throws(
    () => defineEvents({ auth: { token: 'string' } as never, toServer: {}, toClient: {} }),
    new TypeError('roomcast: auth must be a TypeBox schema (Type.Object(...), say)'),
  )
})
