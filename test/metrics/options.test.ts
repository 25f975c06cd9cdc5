// The metrics option: the application's own registry, no route, another prefix and route,
// prom-client's default metrics, bad values refused at registration, and nothing when off.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath, pathToFileURL } from 'node:url'
import Fastify from 'fastify'
import { Registry } from 'prom-client'
import t from 'tap'
import roomcast from '../../plugin/index.js'
import { resolveMetricsOptions } from '../../plugin/metrics/options.js'
import { Scrape, scrape } from '../helpers/metrics.js'
import { connect, startServer } from '../helpers/server.js'

const fixture = (name: string): string => fileURLToPath(new URL(`fixtures/${name}`, import.meta.url))

t.test("the application's registry gets the metrics, and route: false adds no route", async (t) => {
  const registry = new Registry()
  const { app, url, port } = await startServer({ metrics: { registry, route: false } })
  t.teardown(() => app.close())
  const { client } = await connect(url)
  t.teardown(() => client.close())
  t.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 404, 'no /metrics route')
  const text = await registry.metrics()
  t.equal(new Scrape(text).value('roomcast_connections_open', { protocol: 'native' }), 1)
  t.ok(registry.getSingleMetric('roomcast_deliveries_total'), 'registered in the given registry')
})

t.test('another prefix and route; default process metrics on request', async (t) => {
  const { app, port } = await startServer({ metrics: { prefix: 'chat_', route: '/internal/metrics', defaultMetrics: true } })
  t.teardown(() => app.close())
  const response = await fetch(`http://127.0.0.1:${port}/internal/metrics`)
  t.match(response.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  const now = await scrape(port, '/internal/metrics')
  t.ok(now.families.has('chat_connections_open'))
  t.notOk(now.families.has('roomcast_connections_open'))
  t.ok(now.families.has('chat_process_cpu_user_seconds_total'), 'collectDefaultMetrics, with the prefix')
  t.ok([...now.families.keys()].every((name) => name.startsWith('chat_')))
})

t.test('every metric has help and a type; counters end in _total', async (t) => {
  const { app, port } = await startServer({ metrics: true })
  t.teardown(() => app.close())
  const now = await scrape(port)
  t.ok(now.families.size >= 20, `${now.families.size} metrics`)
  for (const family of now.families.values()) {
    t.ok(family.help.length > 10, `${family.name} has help`)
    if (family.type === 'COUNTER') t.match(family.name, /_total$/)
  }
})

t.test('metrics off (the default): no route, and the option resolves to nothing', async (t) => {
  const { app, port } = await startServer({})
  t.teardown(() => app.close())
  t.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 404)
  t.equal(resolveMetricsOptions(undefined), undefined)
  t.equal(resolveMetricsOptions(false), undefined)
})

t.test('bad metrics options fail the registration with a clear error', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    [{ prefix: 'bad prefix' }, /metrics\.prefix/],
    [{ route: 'metrics' }, /metrics\.route must start with "\/"/],
    ['yes', /metrics must be a boolean or an object/],
  ]
  for (const [metrics, message] of cases) {
    const app = Fastify()
    await t.rejects(app.register(roomcast, { metrics } as never).ready(), message)
    await app.close()
  }
})

t.test('two registrations into one registry collide with a clear prom-client error', async (t) => {
  const registry = new Registry()
  const first = await startServer({ metrics: { registry, route: false } })
  t.teardown(() => first.app.close())
  const app = Fastify()
  await t.rejects(app.register(roomcast, { metrics: { registry, route: false } }).ready(), /already been registered/)
  await app.close()
})

t.test('without prom-client installed, the registration fails saying how to install it', async (t) => {
  const run = async (...imports: string[]): Promise<{ ok: boolean; code?: string; message?: string }> => {
    const child = spawn(process.execPath, [...process.execArgv, ...imports, fixture('register-with-metrics.ts')], { stdio: ['ignore', 'pipe', 'inherit'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    await once(child, 'exit')
    return JSON.parse(output.trim().split('\n').at(-1)!)
  }
  t.same(await run(), { ok: true }, 'with prom-client, the same registration works')
  const missing = await run(`--import=${pathToFileURL(fixture('hide-prom-client.mjs')).href}`)
  t.equal(missing.ok, false)
  t.equal(missing.code, 'ROOMCAST_PROM_CLIENT_MISSING')
  t.match(missing.message, /npm install prom-client/)
  t.match(missing.message, /Cannot find package 'prom-client'/)
})
