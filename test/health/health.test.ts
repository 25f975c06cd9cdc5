// Liveness and readiness over HTTP and through app.roomcast.health(): ready while the node
// takes connections, 503 with its reasons while it drains and once it shuts down.
import Fastify from 'fastify'
import t from 'tap'
import roomcast from '../../plugin/index.js'
import { connect, startServer } from '../helpers/server.js'

async function get(port: number, path: string): Promise<{ status: number; body: unknown; cacheControl: string | null }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`)
  return { status: response.status, body: await response.json(), cacheControl: response.headers.get('cache-control') }
}

t.test('live and ready answer 200; a drain makes readiness 503 with its reason, liveness stays 200', async (t) => {
  const { app, url, port } = await startServer({ health: true })
  t.teardown(() => app.close())
  t.same(await get(port, '/health/live'), { status: 200, body: { live: true }, cacheControl: 'no-store' })
  t.same(await get(port, '/health/ready'), { status: 200, body: { ready: true }, cacheControl: 'no-store' })
  t.same(app.roomcast.health(), { live: true, ready: true, reasons: [] })

  const clients = await Promise.all([connect(url), connect(url)])
  t.teardown(() => clients.forEach(({ client }) => client.close()))
  // One connection per second: the drain is still running while readiness is asked.
  const drained = app.roomcast.connections.drain({ perSecond: 1 })
  t.same(await get(port, '/health/ready'), { status: 503, body: { ready: false, reasons: ['draining'] }, cacheControl: 'no-store' })
  t.same(app.roomcast.health(), { live: true, ready: false, reasons: ['draining'] })
  t.same((await get(port, '/health/live')).body, { live: true })
  for (const { client } of clients) client.close()
  await drained
  t.equal((await get(port, '/health/ready')).status, 503, 'a drained node stays out of rotation')
})

t.test('during shutdown the node reports shutting_down', async (t) => {
  const { app, url } = await startServer({ health: true })
  const { client } = await connect(url)
  t.teardown(() => client.close())
  const seen: unknown[] = []
  // Connections are closed by the shutdown: what the node says of itself at that moment.
  app.roomcast.addHook('disconnect', () => void seen.push(app.roomcast.health()))
  await app.close()
  t.same(seen, [{ live: true, ready: false, reasons: ['shutting_down'] }])
})

t.test('routes are off by default, may be renamed, and bad paths are refused', async (t) => {
  const plain = await startServer({})
  t.teardown(() => plain.app.close())
  t.equal((await fetch(`http://127.0.0.1:${plain.port}/health/ready`)).status, 404)
  t.same(plain.app.roomcast.health(), { live: true, ready: true, reasons: [] }, 'the programmatic check needs no route')

  const renamed = await startServer({ health: { live: '/livez', ready: '/readyz' } })
  t.teardown(() => renamed.app.close())
  t.equal((await get(renamed.port, '/livez')).status, 200)
  t.same((await get(renamed.port, '/readyz')).body, { ready: true })
  t.equal((await fetch(`http://127.0.0.1:${renamed.port}/health/live`)).status, 404)

  for (const [health, message] of [
    [{ live: 'livez' }, /health\.live must be a path starting with "\/"/],
    [{ live: '/same', ready: '/same' }, /must be different routes/],
    [42, /health must be true, false or an object \{ live, ready \} \(got 42\)/],
  ] as const) {
    const app = Fastify()
    await t.rejects(app.register(roomcast, { health } as never).ready(), message)
    await app.close()
  }
})
