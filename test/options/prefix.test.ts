// `register(roomcast, { prefix })` mounts every route of the plugin under the prefix, as it would
// for any Fastify plugin, and so does a prefix of the context roomcast is registered in. A second
// registration on the same server is refused with a coded error that names the fix.
import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import roomcast, { AlreadyRegisteredError, type RegisteredEvents, type RoomcastOptions } from '../../plugin/index.js'
import { APP, rawPusher } from '../helpers/pusher.js'
import { signedFetch } from '../helpers/pusher-http.js'
import { connect, RawClient } from '../helpers/server.js'

type Options = RoomcastOptions<RegisteredEvents> & { prefix?: string }

async function listening(t: Test, register: (app: FastifyInstance) => PromiseLike<unknown>): Promise<{ app: FastifyInstance; port: number }> {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await register(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return { app, port: address.port }
}

/**
 * Every route of the plugin answers under `mount`, and none outside it. Upgrades outside it are
 * tried only when roomcast is in the root context: elsewhere they belong to the application's
 * own routing, which roomcast (and @fastify/websocket with it) has no hooks in.
 */
async function servedUnder(t: Test, port: number, mount: string, rootContext = true): Promise<void> {
  const { client, connected } = await connect(`ws://127.0.0.1:${port}${mount}/ws`)
  t.teardown(() => client.close())
  t.equal(connected.event, 'connected', `native route at ${mount}/ws`)
  const pusher = await rawPusher(`ws://127.0.0.1:${port}${mount}/app/${APP.key}?protocol=7&client=js&version=8.6.0`)
  t.teardown(() => pusher.client.close())
  t.match(pusher.socketId, /^\d+\.\d+$/, `Pusher WebSocket at ${mount}/app/:key`)
  const channels = await signedFetch(port, 'GET', `${mount}/apps/${APP.id}/channels`)
  t.equal(channels.status, 200, `Pusher HTTP API at ${mount}/apps/:appId`)
  t.same(channels.body, { channels: {} })
  const health = await fetch(`http://127.0.0.1:${port}${mount}/pusher/health`)
  t.equal(health.status, 200, `health route at ${mount}/pusher/health`)
  await health.body?.cancel()

  if (rootContext) {
    await t.rejects(RawClient.open(`ws://127.0.0.1:${port}/ws`), { message: 'HTTP 404' }, 'nothing at the unprefixed native path')
    await t.rejects(RawClient.open(`ws://127.0.0.1:${port}/app/${APP.key}?protocol=7`), { message: 'HTTP 404' }, 'nor at the unprefixed Pusher path')
  }
  const unprefixed = await fetch(`http://127.0.0.1:${port}/pusher/health`)
  t.equal(unprefixed.status, 404, 'nor at the unprefixed health path')
  await unprefixed.body?.cancel()
}

const options: Options = { pusher: { apps: [APP] } }

t.test('the prefix option mounts the native, Pusher WebSocket, Pusher HTTP API and health routes under it', async (t) => {
  const { port } = await listening(t, (app) => app.register(roomcast, { ...options, prefix: '/rt' }))
  await servedUnder(t, port, '/rt')
})

t.test('written as Fastify accepts it: without its leading slash, or with a trailing one', async (t) => {
  const { port } = await listening(t, (app) => app.register(roomcast, { ...options, prefix: 'rt/' }))
  const { client, connected } = await connect(`ws://127.0.0.1:${port}/rt/ws`)
  t.teardown(() => client.close())
  t.equal(connected.event, 'connected')
})

t.test('the prefix of the context roomcast is registered in applies too, before its own', async (t) => {
  const { port } = await listening(t, (app) =>
    app.register(
      async (api) => {
        await api.register(roomcast, { ...options, prefix: '/rt' })
      },
      { prefix: '/api' },
    ),
  )
  await servedUnder(t, port, '/api/rt', false)
})

t.test('path and pusher.pathPrefix go under the prefix', async (t) => {
  const { port } = await listening(t, (app) => app.register(roomcast, { prefix: '/rt', path: '/live', pusher: { apps: [APP], pathPrefix: '/pusher' } }))
  const { client, connected } = await connect(`ws://127.0.0.1:${port}/rt/live`)
  t.teardown(() => client.close())
  t.equal(connected.event, 'connected')
  const pusher = await rawPusher(`ws://127.0.0.1:${port}/rt/pusher/app/${APP.key}?protocol=7&client=js&version=8.6.0`)
  t.teardown(() => pusher.client.close())
  const channels = await signedFetch(port, 'GET', `/rt/pusher/apps/${APP.id}/channels`)
  t.equal(channels.status, 200)
})

t.test('so does an explicit health path', async (t) => {
  const { port } = await listening(t, (app) => app.register(roomcast, { prefix: '/rt', pusher: { apps: [APP], http: { healthPath: '/healthz' } } }))
  const health = await fetch(`http://127.0.0.1:${port}/rt/healthz`)
  t.equal(health.status, 200)
  t.match(await health.json(), { ok: true })
})

t.test('a prefix that is not a string is refused like any option', async (t) => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await t.rejects(async () => app.register(roomcast, { prefix: 3 } as unknown as Options).ready(), {
    code: 'ROOMCAST_INVALID_OPTION',
    message: 'roomcast: prefix must be a path prefix, e.g. "/rt" (got 3)',
  })
})

t.test('registering roomcast twice on one server is refused, naming what to use instead', async (t) => {
  const same = Fastify({ logger: false })
  t.teardown(() => same.close())
  same.register(roomcast)
  same.register(roomcast, { path: '/other' })
  const error = await same.ready().then(
    () => undefined,
    (err: unknown) => err,
  )
  t.ok(error instanceof AlreadyRegisteredError, 'an AlreadyRegisteredError')
  t.match(error, { code: 'ROOMCAST_ALREADY_REGISTERED', name: 'TypeError', message: /already registered on this server.*`path`.*`pusher`.*Fastify instance/ })

  // Sibling contexts, with different prefixes, would share the server's upgrades all the same.
  const siblings = Fastify({ logger: false })
  t.teardown(() => siblings.close())
  siblings.register(
    async (child) => {
      await child.register(roomcast)
    },
    { prefix: '/a' },
  )
  siblings.register(
    async (child) => {
      await child.register(roomcast)
    },
    { prefix: '/b' },
  )
  await t.rejects(async () => siblings.ready(), { code: 'ROOMCAST_ALREADY_REGISTERED' })
})

t.test('one registration per server: two Fastify instances each have theirs', async (t) => {
  const first = await listening(t, (app) => app.register(roomcast))
  const second = await listening(t, (app) => app.register(roomcast))
  for (const { port } of [first, second]) {
    const { client, connected } = await connect(`ws://127.0.0.1:${port}/ws`)
    t.teardown(() => client.close())
    t.equal(connected.event, 'connected')
  }
})
