import { createServer } from 'node:http'
import t, { type Test } from 'tap'
import WebSocket from 'ws'
import { RoomcastClient } from '../../client/index.js'
import { Emitter } from '../../plugin/index.js'
import { APP } from '../helpers/pusher.js'
import { cleanEnv, configFile, ensureBuilt, startCli } from '../helpers/cli.js'
import { startRedis, uniquePrefix } from '../helpers/redis.js'
import { expectRefusedUpgrade, RawClient } from '../helpers/server.js'

/**
 * The native protocol on the standalone server, authenticated by an HTTP endpoint of the
 * user's app (any language), with a backend that publishes through the Redis Emitter.
 */

t.before(ensureBuilt)

interface Asked {
  stage: string
  headers: Record<string, string>
  query: Record<string, string>
  ip: string
  data?: { token?: string }
  userId?: string
  metadata?: Record<string, unknown>
  rooms?: string[]
}

/** The app's auth endpoint: bearer tokens at the upgrade, tokens in-band, joins only to rooms named after the user. */
async function authEndpoint(t: Test): Promise<{ url: string; asked: Asked[] }> {
  const asked: Asked[] = []
  const server = createServer((request, response) => {
    let text = ''
    request.on('data', (chunk: Buffer) => (text += chunk.toString()))
    request.on('end', () => {
      const body = JSON.parse(text) as Asked
      asked.push(body)
      const reply = (status: number, json?: unknown) =>
        response.writeHead(status, { 'content-type': 'application/json' }).end(json === undefined ? '' : JSON.stringify(json))
      if (body.stage === 'upgrade') {
        if (body.headers.authorization === 'Bearer ann-token') return reply(200, { userId: 'ann', metadata: { plan: 'pro' } })
        if (body.headers.authorization === 'Bearer broken') return reply(500)
        if (body.headers.authorization === 'Bearer numeric') return reply(200, { userId: 42 })
        if (body.headers.authorization !== undefined) return reply(401)
        return reply(204)
      }
      if (body.stage === 'authenticate') return body.data?.token === 'bob-token' ? reply(200, { userId: 'bob' }) : reply(403)
      return reply(200, { rooms: (body.rooms ?? []).filter((room) => room === `user:${body.userId}` || room === 'lobby') })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/roomcast/auth`, asked }
}

t.test('native.authEndpoint: the upgrade, in-band authentication and joins are decided by the app over HTTP; SIGTERM closes with 4005', async (t) => {
  const endpoint = await authEndpoint(t)
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const keyPrefix = uniquePrefix('native')
  const file = configFile({
    host: '127.0.0.1',
    port: 0,
    apps: [APP],
    native: { path: '/ws', authEndpoint: endpoint.url },
    redis: { url: `redis://127.0.0.1:${redis.port}`, keyPrefix },
    shutdownGracePeriod: 2000,
  })
  t.teardown(() => file.remove())
  const { cli, port } = await startCli(['--config', file.path], cleanEnv())
  t.teardown(() => cli.kill())
  const url = `ws://127.0.0.1:${port}/ws`

  const ann = await RawClient.open(`${url}?app=demo`, { headers: { authorization: 'Bearer ann-token', cookie: 'session=1' } })
  t.teardown(() => ann.close())
  t.match((await ann.next('connected')).data, { userId: 'ann' }, 'accepted before the upgrade')
  t.match(endpoint.asked[0], {
    stage: 'upgrade',
    headers: { authorization: 'Bearer ann-token', cookie: 'session=1' },
    query: { app: 'demo' },
    ip: '127.0.0.1',
  })
  const joined = await ann.request('join', { rooms: ['user:ann', 'user:bob', 'lobby'] })
  t.equal(joined.event, 'ack')
  t.match(endpoint.asked.at(-1), { stage: 'join', userId: 'ann', metadata: { plan: 'pro' }, rooms: ['user:ann', 'user:bob', 'lobby'] })
  const { joined: rooms, refused } = joined.data as { joined: string[]; refused: string[] }
  t.same([[...rooms].sort(), refused], [['lobby', 'user:ann'], ['user:bob']], 'only the rooms the endpoint allowed')

  // A 401 or 403 from the endpoint reaches browsers too: the upgrade completes and closes with 4003.
  const stolen = await RawClient.open(url, { headers: { authorization: 'Bearer stolen' } })
  t.match(await stolen.whenClosed(), { code: 4003, reason: /^auth_refused:401/ }, 'a 401 from the endpoint refuses the connection')
  t.match(await expectRefusedUpgrade(url, { headers: { authorization: 'Bearer broken' } }), { statusCode: 503 }, 'an endpoint failing (500) refuses with 503')
  t.match(await expectRefusedUpgrade(url, { headers: { authorization: 'Bearer numeric' } }), { statusCode: 503 }, 'so does an answer that is no identity')
  // The log line travels through a pipe: it may arrive after the refused upgrade's answer.
  const logged = await cli.waitForLog(
    (line) => line.level === 40 && line.msg === 'roomcast: the native authentication endpoint failed; the connection is refused',
  )
  t.match(logged, { endpoint: endpoint.url }, 'and the failure is logged')

  // 204 at the upgrade: the typed client authenticates in-band with what its auth callback gives.
  const bob = new RoomcastClient(url, { WebSocket: WebSocket as unknown as typeof globalThis.WebSocket, auth: async () => ({ token: 'bob-token' }) })
  t.teardown(() => bob.close())
  await bob.ready()
  t.match(
    endpoint.asked.findLast((asked) => asked.stage === 'authenticate'),
    { data: { token: 'bob-token' } },
  )
  await bob.join('lobby')
  const heard = new Promise((resolve) => bob.on('news' as never, resolve as never))
  const emitter = new Emitter({ redis: redis.client(), keyPrefix })
  await emitter.to('lobby').emit('news', { text: 'from the backend' })
  t.same(await heard, { text: 'from the backend' }, "the app's backend reaches the typed client through the Redis Emitter")

  const eve = await RawClient.open(url)
  t.teardown(() => eve.close())
  t.match(await eve.request('authenticate', { token: 'wrong' }), { event: 'error', data: { code: 'auth_refused' } }, 'a 403 refuses in-band')
  t.equal((await eve.whenClosed()).code, 4003)

  cli.child.kill('SIGTERM')
  t.equal((await ann.whenClosed(10_000)).code, 4005, 'native clients are drained with 4005 (reconnect elsewhere)')
  t.same(await cli.exited, { code: 0, signal: null })
})

t.test('without native.authEndpoint the native route refuses every upgrade', async (t) => {
  const file = configFile({ host: '127.0.0.1', port: 0, apps: [APP], logLevel: 'warn' })
  t.teardown(() => file.remove())
  const { cli, port } = await startCli(['--config', file.path, '--log-level', 'info'], cleanEnv())
  t.teardown(() => cli.kill())
  t.match(await expectRefusedUpgrade(`ws://127.0.0.1:${port}/ws`), { statusCode: 404 })
  cli.child.kill('SIGTERM')
  t.same(await cli.exited, { code: 0, signal: null })
})
