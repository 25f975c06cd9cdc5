import Fastify from 'fastify'
import t from 'tap'
import roomcast, { type RoomcastOptions } from '../../plugin/index.js'
import { connect, expectRefusedUpgrade, RawClient, startServer, until } from '../helpers/server.js'

/** A hook's promise that never settles, as an application waiting on a dead database would return. */
const never = <T>(): Promise<T> => new Promise<T>(() => {})

/** A server whose Fastify logger writes into `lines`, so that a test can see the warnings. */
async function startLogged(options: RoomcastOptions): Promise<{ url: string; lines: Array<Record<string, unknown>>; close: () => Promise<void> }> {
  const lines: Array<Record<string, unknown>> = []
  const app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } } })
  await app.register(roomcast, options)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return { url: `ws://127.0.0.1:${address.port}/ws`, lines, close: () => app.close() }
}

const warnedAbout = (lines: Array<Record<string, unknown>>, hook: string): boolean => lines.some((line) => line.level === 40 && line.hook === hook)

t.test('authenticateRequest that never settles: 503 with hook_timeout, no socket, a warning', async (t) => {
  const server = await startLogged({ hookTimeout: 50, authenticateRequest: () => never() })
  t.teardown(() => server.close())
  const refusal = await expectRefusedUpgrade(server.url)
  t.equal(refusal.statusCode, 503)
  t.match(refusal.body, { error: 'Service Unavailable', code: 'hook_timeout', message: /authenticateRequest/ })
  t.ok(warnedAbout(server.lines, 'authenticateRequest'), 'logged at warn with the hook name')
})

t.test('authenticate that never settles: error hook_timeout answers the request, then close 1011', async (t) => {
  const server = await startLogged({ hookTimeout: 50, authTimeout: 60_000, authenticate: () => never() })
  t.teardown(() => server.close())
  const client = await RawClient.open(server.url)
  t.teardown(() => client.close())
  const reply = await client.request('authenticate', { token: 't' })
  t.match(reply, { event: 'error', data: { code: 'hook_timeout', event: 'authenticate' } })
  t.equal((await client.whenClosed()).code, 1011, 'internal error: the client may reconnect')
  t.ok(warnedAbout(server.lines, 'authenticate'))
})

t.test('authenticate slower than authTimeout: 4001 as before, and its late answer changes nothing', async (t) => {
  let settle: (identity: { userId: string }) => void = () => {}
  const server = await startLogged({ hookTimeout: 60_000, authTimeout: 50, authenticate: () => new Promise((resolve) => (settle = resolve)) })
  t.teardown(() => server.close())
  const client = await RawClient.open(server.url)
  t.teardown(() => client.close())
  client.send({ event: 'authenticate', data: {}, id: 1 })
  t.equal((await client.whenClosed()).code, 4001)
  settle({ userId: 'late' })
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(client.all('connected').length, 0)
})

t.test('authorizeJoin that never settles: the join gets hook_timeout and the connection stays open', async (t) => {
  const { app, url } = await startServer({ hookTimeout: 50, authorizeJoin: ({ rooms }) => (rooms.includes('slow') ? never() : true) })
  t.teardown(() => app.close())
  const { client } = await connect(url)
  t.teardown(() => client.close())
  t.match(await client.request('join', { rooms: ['slow'] }), { event: 'error', data: { code: 'hook_timeout', event: 'join' } })
  t.match(await client.request('join', { rooms: ['fast'] }), { event: 'ack', data: { joined: ['fast'], refused: [] } })
  t.equal(client.closed, undefined)
})

t.test('authorizeJoin that rejects after its time-out: no unhandled rejection, the join already answered', async (t) => {
  let rejected = false
  const { app, url } = await startServer({
    hookTimeout: 20,
    authorizeJoin: () =>
      new Promise<boolean>((_, reject) =>
        setTimeout(() => {
          rejected = true
          reject(new Error('too late'))
        }, 60),
      ),
  })
  t.teardown(() => app.close())
  const { client } = await connect(url)
  t.teardown(() => client.close())
  t.match(await client.request('join', { rooms: ['a'] }), { event: 'error', data: { code: 'hook_timeout' } })
  await until(() => rejected, 5000, 'the hook rejected')
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(client.all('error').length, 1, 'nothing more was sent')
})

t.test('defaultRooms that never settles: the connection comes up in no default room, a warning', async (t) => {
  const server = await startLogged({ hookTimeout: 50, defaultRooms: () => never() })
  t.teardown(() => server.close())
  const { client, connected } = await connect(server.url)
  t.teardown(() => client.close())
  t.same(connected.data.rooms, [])
  t.ok(warnedAbout(server.lines, 'defaultRooms'))
})

t.test('hookTimeout is validated like the other options', async (t) => {
  for (const hookTimeout of [0, -1, Number.NaN, Infinity, 2 ** 31]) {
    const app = Fastify({ logger: false })
    await t.rejects(
      async () => {
        await app.register(roomcast, { hookTimeout })
      },
      { message: /hookTimeout/ },
      String(hookTimeout),
    )
    await app.close()
  }
})
