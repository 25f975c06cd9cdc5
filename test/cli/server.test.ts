import { createServer, type IncomingMessage } from 'node:http'
import t from 'tap'
import { APP, connected, once, pusherJs, rawPusher } from '../helpers/pusher.js'
import { cleanEnv, configFile, ensureBuilt, startCli, standalonePusher } from '../helpers/cli.js'
import { scrapeUntil } from '../helpers/metrics.js'
import { webhookReceiver } from '../helpers/pusher-http.js'
import { until } from '../helpers/server.js'

/** `roomcast start --config file.json` as a child process, reached by pusher-js, the `pusher` SDK, probes and Prometheus. */

t.before(ensureBuilt)

t.test('from a config file: pusher-js connects, the pusher SDK triggers, health and metrics answer, SIGTERM drains and exits 0', async (t) => {
  const hooks = await webhookReceiver()
  t.teardown(() => hooks.close())
  const app = { ...APP, webhooks: [{ url: hooks.url, eventTypes: ['channel_occupied' as const] }] }
  const file = configFile({
    host: '127.0.0.1',
    port: 0,
    logLevel: 'info',
    apps: [app],
    metrics: { enabled: true, port: 0 },
    shutdownGracePeriod: 2000,
  })
  t.teardown(() => file.remove())
  const { cli, port, metricsUrl } = await startCli(['--config', file.path], cleanEnv())
  t.teardown(() => cli.kill())
  t.ok(metricsUrl, 'metrics have a listener of their own')

  const server = standalonePusher(port, app)
  const client = pusherJs(server)
  t.teardown(() => client.disconnect())
  await connected(client)
  const channel = client.subscribe('news')
  await once(channel, 'pusher:subscription_succeeded')
  const received = once<{ text: string }>(channel, 'headline')
  await server.sdk().trigger('news', 'headline', { text: 'hello' })
  t.same(await received, { text: 'hello' }, 'the SDK trigger reaches pusher-js')
  await hooks.waitFor(1)
  t.same(hooks.received[0]!.body.events, [{ name: 'channel_occupied', channel: 'news' }], 'the webhook from the config file fired')

  const base = `http://127.0.0.1:${port}`
  t.same(await (await fetch(`${base}/health/ready`)).json(), { ready: true })
  t.same(await (await fetch(`${base}/health/live`)).json(), { live: true })
  t.equal(await (await fetch(`${base}/`)).text(), 'OK', "soketi's GET /")
  t.equal(await (await fetch(`${base}/ready`)).text(), 'OK', "soketi's GET /ready")
  const metricsPort = Number(new URL(metricsUrl!).port)
  const scraped = await scrapeUntil(metricsPort, (s) => s.value('roomcast_connections_open', { protocol: 'pusher', app: APP.id }) === 1)
  t.equal(scraped.value('roomcast_http_requests_total', { route: '/apps/:appId/events', status: '200' }), 1, 'the trigger is counted')
  t.ok(scraped.families.has('roomcast_process_cpu_user_seconds_total'), 'with the process metrics, as soketi serves them')
  t.equal((await fetch(`${base}/metrics`)).status, 404, 'and not on the public port')

  // A raw socket sees the close code pusher-js acts on; pusher-js itself reconnects at once (4200) and finds the server gone.
  const { client: raw } = await rawPusher(`ws://127.0.0.1:${port}/app/${APP.key}?protocol=7`)
  t.teardown(() => raw.close())
  cli.child.kill('SIGTERM')
  const closed = await raw.whenClosed(10_000)
  t.equal(closed.code, 4200, 'Pusher clients are told to reconnect elsewhere (4200)')
  t.same(raw.all('pusher:error').at(-1)?.data, { code: 4200, message: 'Server closed. Please reconnect shortly.' }, 'after a pusher:error with the same code')
  t.same(await cli.exited, { code: 0, signal: null }, 'exit 0')
  t.ok(
    cli.logs.some((line) => line.msg === 'roomcast: signal received; draining'),
    'the drain is logged',
  )
  await until(() => client.connection.state !== 'connected', 5000, 'pusher-js notices')
})

t.test('while stopping, readiness is false (the metrics listener answers last); a second signal exits 1 at once', async (t) => {
  // A webhook receiver that never answers keeps the stop in its webhook flush (bounded at 60 s here).
  const requests: IncomingMessage[] = []
  const hanging = createServer((request) => void requests.push(request))
  await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    hanging.closeAllConnections()
    hanging.close()
  })
  const url = `http://127.0.0.1:${(hanging.address() as { port: number }).port}/hook`
  const file = configFile({
    host: '127.0.0.1',
    port: 0,
    apps: [{ ...APP, webhooks: [{ url }] }],
    metrics: { enabled: true, port: 0 },
    webhooks: { closeTimeoutMs: 60_000, requestTimeoutMs: 60_000 },
    shutdownGracePeriod: 1000,
  })
  t.teardown(() => file.remove())
  const { cli, port, metricsUrl } = await startCli(['--config', file.path], cleanEnv())
  t.teardown(() => cli.kill())
  const ready = `${metricsUrl}/ready`
  t.equal(await (await fetch(ready)).text(), 'OK')

  const { client } = await rawPusher(`ws://127.0.0.1:${port}/app/${APP.key}?protocol=7`)
  t.teardown(() => client.close())
  client.send({ event: 'pusher:subscribe', data: { channel: 'news' } })
  await client.next('pusher_internal:subscription_succeeded')
  await until(() => requests.length > 0, 5000, 'the webhook request is in flight')

  cli.child.kill('SIGTERM')
  t.equal((await client.whenClosed(10_000)).code, 4200)
  let answer: Response | undefined
  await until(async () => (answer = await fetch(ready)).status === 503, 5000, 'readiness 503')
  const body = (await answer!.json()) as { ready: boolean; reasons: string[] }
  t.equal(body.ready, false)
  t.ok(body.reasons.includes('shutting_down'), `not ready while shutting down (${body.reasons.join(', ')})`)
  cli.child.kill('SIGINT')
  t.same(await cli.exited, { code: 1, signal: null }, 'the second signal exits 1')
  t.ok(cli.logs.some((line) => line.msg === 'roomcast: second signal while shutting down; exiting now'))
})

t.test('webhooks still queued at SIGTERM are sent before the process exits', async (t) => {
  const hooks = await webhookReceiver()
  t.teardown(() => hooks.close())
  // A one-minute batching window holds every event in the queue until the stop flushes it.
  const file = configFile({
    host: '127.0.0.1',
    port: 0,
    apps: [{ ...APP, webhooks: [{ url: hooks.url }] }],
    webhooks: { batchWindowMs: 60_000 },
    shutdownGracePeriod: 1000,
  })
  t.teardown(() => file.remove())
  const { cli, port } = await startCli(['--config', file.path], cleanEnv())
  t.teardown(() => cli.kill())
  const { client } = await rawPusher(`ws://127.0.0.1:${port}/app/${APP.key}?protocol=7`)
  t.teardown(() => client.close())
  client.send({ event: 'pusher:subscribe', data: { channel: 'news' } })
  await client.next('pusher_internal:subscription_succeeded')
  t.equal(hooks.received.length, 0, 'held by the batching window')

  cli.child.kill('SIGTERM')
  t.same(await cli.exited, { code: 0, signal: null })
  t.same(
    hooks.received.map((request) => request.body.events),
    [
      [
        { name: 'channel_occupied', channel: 'news' },
        { name: 'channel_vacated', channel: 'news' },
      ],
    ],
    'one request with the queued event and the vacancy the drain caused, sent before the exit',
  )
})
