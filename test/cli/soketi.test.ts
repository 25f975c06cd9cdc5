import type { PrivateChannel } from 'pusher-js'
import t from 'tap'
import { connected, once, pusherJs } from '../helpers/pusher.js'
import { cleanEnv, ensureBuilt, startCli, standalonePusher } from '../helpers/cli.js'
import { scrapeUntil } from '../helpers/metrics.js'
import { eventsOf, webhookReceiver } from '../helpers/pusher-http.js'
import { freePort } from '../helpers/redis.js'
import { until } from '../helpers/server.js'

/** A soketi deployment's environment, unchanged, under `roomcast start`. */

t.before(ensureBuilt)

t.test("soketi's variables: port, default app, client messages, webhooks in soketi's shape, metrics on their port; unsupported ones named", async (t) => {
  const hooks = await webhookReceiver()
  t.teardown(() => hooks.close())
  const [port, metricsPort] = [await freePort(), await freePort()]
  const app = { id: 'soketi-id', key: 'soketi-key', secret: 'soketi-secret' }
  const { cli } = await startCli(
    [],
    cleanEnv({
      SOKETI_HOST: '127.0.0.1',
      SOKETI_PORT: String(port),
      SOKETI_DEFAULT_APP_ID: app.id,
      SOKETI_DEFAULT_APP_KEY: app.key,
      SOKETI_DEFAULT_APP_SECRET: app.secret,
      SOKETI_DEFAULT_APP_ENABLE_CLIENT_MESSAGES: 'true',
      SOKETI_DEFAULT_APP_WEBHOOKS: JSON.stringify([{ url: hooks.url, event_types: ['client_event'], filter: { channel_name_starts_with: 'private-' } }]),
      SOKETI_METRICS_ENABLED: '1',
      SOKETI_METRICS_SERVER_PORT: String(metricsPort),
      SOKETI_SHUTDOWN_GRACE_PERIOD: '1000',
      SOKETI_QUEUE_DRIVER: 'sqs',
    }),
  )
  t.teardown(() => cli.kill())
  const listening = cli.logs.find((line) => line.msg === 'roomcast: listening')!
  t.equal(listening.url, `http://127.0.0.1:${port}`, 'SOKETI_HOST and SOKETI_PORT')
  t.equal(listening.compat, 'soketi', "soketi's preset, since SOKETI_* variables are set")
  t.same(listening.apps, [app.id])
  t.ok(
    cli.logs.some((line) => line.level === 40 && line.msg.includes('SOKETI_QUEUE_DRIVER')),
    'a warning names the variable that is not supported',
  )

  const server = standalonePusher(port, app)
  const [ann, bob] = [pusherJs(server, {}, app), pusherJs(server, {}, app)]
  t.teardown(() => [ann, bob].forEach((client) => client.disconnect()))
  const [annId] = await Promise.all([connected(ann), connected(bob)])
  const annRoom = ann.subscribe('private-room') as PrivateChannel
  const bobRoom = bob.subscribe('private-room') as PrivateChannel
  await Promise.all([once(annRoom, 'pusher:subscription_succeeded'), once(bobRoom, 'pusher:subscription_succeeded')])
  const heard = once(bobRoom, 'client-hi')
  annRoom.trigger('client-hi', { text: 'yo' })
  t.same(await heard, { text: 'yo' }, 'client messages are enabled by SOKETI_DEFAULT_APP_ENABLE_CLIENT_MESSAGES')
  await until(() => eventsOf(hooks).length > 0, 5000, 'the client_event webhook')
  t.same(
    eventsOf(hooks),
    [{ name: 'client_event', channel: 'private-room', event: 'client-hi', data: { text: 'yo' }, socket_id: annId }],
    "the webhook from SOKETI_DEFAULT_APP_WEBHOOKS, with data as the client sent it (soketi's shape)",
  )
  t.ok(
    server
      .sdk(app)
      .webhook({ headers: hooks.received[0]!.headers as Record<string, string>, rawBody: hooks.received[0]!.rawBody })
      .isValid(),
    'signed',
  )

  const news = ann.subscribe('news')
  await once(news, 'pusher:subscription_succeeded')
  const received = once(news, 'flash')
  await server.sdk(app).trigger('news', 'flash', { n: 1 })
  t.same(await received, { n: 1 }, 'the pusher SDK triggers with the SOKETI_DEFAULT_APP_* credentials')

  const scraped = await scrapeUntil(metricsPort, (s) => s.value('roomcast_connections_open', { app: app.id }) === 2)
  t.equal(scraped.value('roomcast_connections_open', { app: app.id }), 2, 'metrics on SOKETI_METRICS_SERVER_PORT')
  t.equal(await (await fetch(`http://127.0.0.1:${metricsPort}/ready`)).text(), 'OK', "soketi's /ready on the metrics port too")

  cli.child.kill('SIGTERM')
  t.same(await cli.exited, { code: 0, signal: null })
})

t.test('an adapter or app store soketi has and roomcast has not is refused with exit 2, not ignored', async (t) => {
  const { CliProcess } = await import('../helpers/cli.js')
  const cli = new CliProcess(['start'], cleanEnv({ SOKETI_ADAPTER_DRIVER: 'nats', SOKETI_PORT: '0' }))
  t.teardown(() => cli.kill())
  t.same(await cli.exited, { code: 2, signal: null })
  t.match(cli.stderr, /SOKETI_ADAPTER_DRIVER=nats is not supported/)
})
