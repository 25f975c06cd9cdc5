// Pusher traffic (pusher-js, the `pusher` SDK, raw signed HTTP calls, webhooks to a real
// receiver) against a server with `metrics: true`, scraped and parsed as Prometheus would.
import { type AddressInfo, createServer, type Socket } from 'node:net'
import t from 'tap'
import { scrape, scrapeUntil } from '../helpers/metrics.js'
import { APP, connected, once, pusherJs, startPusherServer } from '../helpers/pusher.js'
import { signedFetch, webhookReceiver } from '../helpers/pusher-http.js'
import { RawClient } from '../helpers/server.js'

const pusher = { protocol: 'pusher' }
const app = { ...pusher, app: APP.id }

t.test('connections per app, subscriptions and refusals, client and HTTP traffic, HTTP requests by route and status', async (t) => {
  const server = await startPusherServer({ metrics: true })
  t.teardown(() => server.app.close())
  const port = server.port

  const client = pusherJs(server)
  t.teardown(() => client.disconnect())
  await connected(client)
  const channel = client.subscribe('private-orders-4417')
  await once(channel, 'pusher:subscription_succeeded')
  const forger = pusherJs(server, { badSecret: true })
  t.teardown(() => forger.disconnect())
  await connected(forger)
  await once(forger.subscribe('private-orders-4417'), 'pusher:subscription_error')

  let now = await scrape(port)
  t.equal(now.value('roomcast_connections_open', app), 2, 'both sockets, under the app id')
  t.equal(now.value('roomcast_join_refusals_total', app), 1, 'the forged signature')
  t.ok(now.value('roomcast_joins_total', pusher) >= 1)

  // Two triggers through the SDK reach the subscriber; an unsigned call is a 401, an unknown path a 404.
  const sdk = server.sdk()
  const order = once(channel, 'placed')
  await sdk.trigger('private-orders-4417', 'placed', { id: 1 })
  await order
  await sdk.trigger('private-orders-4417', 'placed', { id: 2 })
  t.equal((await fetch(`http://127.0.0.1:${port}/apps/${APP.id}/events`, { method: 'POST', body: '{}' })).status, 401)
  t.equal((await signedFetch(port, 'GET', `/apps/${APP.id}/channels/private-orders-4417`)).status, 200)
  t.equal((await fetch(`http://127.0.0.1:${port}/apps/${APP.id}/nothing-here`)).status, 404)
  channel.trigger('client-typing', { on: true })

  now = await scrapeUntil(port, (s) => s.value('roomcast_deliveries_total', pusher) >= 2 && s.value('roomcast_messages_received_total', pusher) >= 3)
  t.equal(now.value('roomcast_http_requests_total', { route: '/apps/:appId/events', method: 'POST', status: '200', app: APP.id }), 2)
  t.equal(
    now.value('roomcast_http_requests_total', { route: '/apps/:appId/events', method: 'POST', status: '401', app: '' }),
    1,
    'no app label before the signature holds',
  )
  t.equal(now.value('roomcast_http_requests_total', { route: '/apps/:appId/channels/:channelName', method: 'GET', status: '200', app: APP.id }), 1)
  t.equal(now.value('roomcast_http_requests_total', { route: 'unmatched', status: '404' }), 1)
  t.ok(now.value('roomcast_sent_bytes_total', pusher) > 0)
  t.ok(now.value('roomcast_received_bytes_total', pusher) > 0)
  const labels = now.labelValues()
  t.notOk(
    labels.some((value) => value.includes('orders-4417') || value.includes('nothing-here')),
    'channel names and raw paths never become labels',
  )

  forger.disconnect()
  now = await scrapeUntil(port, (s) => s.value('roomcast_connections_open', app) === 1)
  t.ok(now.value('roomcast_connection_closes_total', app) >= 1)
})

t.test('an unknown app key is an auth failure without an app label', async (t) => {
  const server = await startPusherServer({ metrics: true })
  t.teardown(() => server.app.close())
  const client = await RawClient.open(server.url('no-such-key-5521'))
  t.teardown(() => client.close())
  t.equal((await client.whenClosed()).code, 4001)
  const now = await scrape(server.port)
  t.equal(now.value('roomcast_auth_failures_total', { ...pusher, app: '', reason: 'unknown_app' }), 1)
  t.notOk(now.labelValues().some((value) => value.includes('no-such-key')))
})

t.test('webhook deliveries, failures, retries and queue depth', async (t) => {
  const hooks = await webhookReceiver()
  t.teardown(() => hooks.close())
  // The first answer fails, so the event is retried once.
  hooks.respond = ({ index }) => (index === 0 ? 500 : 200)
  const appConfig = { ...APP, webhooks: [{ url: hooks.url }] }
  const server = await startPusherServer({
    metrics: true,
    apps: [appConfig],
    pusher: { apps: [appConfig], webhooks: { retry: { initialDelayMs: 20, maxDelayMs: 40 }, closeTimeoutMs: 500 } },
  })
  t.teardown(() => server.app.close())
  const client = pusherJs(server, {}, appConfig)
  t.teardown(() => client.disconnect())
  await connected(client)
  await once(client.subscribe('news'), 'pusher:subscription_succeeded')
  await hooks.waitFor(2)
  await server.app.roomcast.pusher!.webhooks!.settled()

  const now = await scrape(server.port)
  t.equal(now.value('roomcast_webhook_events_sent_total'), 1, 'channel_occupied, accepted the second time')
  t.equal(now.value('roomcast_webhook_requests_total'), 2)
  t.equal(now.value('roomcast_webhook_request_failures_total'), 1)
  t.equal(now.value('roomcast_webhook_retries_total'), 1)
  t.equal(now.value('roomcast_webhook_events_failed_total'), 0)
  t.equal(now.value('roomcast_webhook_events_dropped_total'), 0)
  t.equal(now.value('roomcast_webhook_queue_depth', { app: APP.id }), 0, 'nothing left queued')
})

t.test('webhook events waiting on a receiver that does not answer are the queue depth', async (t) => {
  // Accepts connections and never answers: the event stays in flight.
  const sockets = new Set<Socket>()
  const silent = createServer((socket) => void sockets.add(socket))
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const socket of sockets) socket.destroy()
    silent.close()
  })
  const appConfig = { ...APP, webhooks: [{ url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/hook` }] }
  const server = await startPusherServer({ metrics: true, apps: [appConfig], pusher: { apps: [appConfig], webhooks: { closeTimeoutMs: 100 } } })
  t.teardown(() => server.app.close())
  const client = pusherJs(server, {}, appConfig)
  t.teardown(() => client.disconnect())
  await connected(client)
  await once(client.subscribe('news'), 'pusher:subscription_succeeded')
  const now = await scrapeUntil(server.port, (s) => s.value('roomcast_webhook_queue_depth', { app: APP.id }) === 1)
  t.equal(now.value('roomcast_webhook_events_sent_total'), 0)
  t.equal(now.value('roomcast_webhook_requests_total'), 1, 'the request is under way')
})
