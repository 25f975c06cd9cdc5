import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import t from 'tap'
import { chromiumAvailable, launchChromium } from '../helpers/browser.js'
import { APP, connected, once, pusherJs, startPusherServer } from '../helpers/pusher.js'

const require = createRequire(import.meta.url)
const browserBuild = require.resolve('pusher-js/dist/web/pusher.min.js')

if (chromiumAvailable()) {
  t.test('pusher-js in Chromium: connects, authorizes over HTTP, presence, server events and client events with Node', async (t) => {
    const server = await startPusherServer({}, async (app) => {
      const script = await readFile(browserBuild, 'utf8')
      const sdk = () => server.sdk()
      // pusher-js posts its auth requests form-encoded.
      app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
        done(null, Object.fromEntries(new URLSearchParams(body as string)))
      })
      app.get('/pusher.js', (_request, reply) => reply.type('text/javascript').send(script))
      app.get('/', (_request, reply) => reply.type('text/html').send('<!doctype html><title>pusher</title><script src="/pusher.js"></script>'))
      app.post<{ Body: { socket_id: string; channel_name: string } }>('/pusher/auth', async (request) => {
        const { socket_id: socketId, channel_name: channel } = request.body
        return sdk().authorizeChannel(socketId, channel, channel.startsWith('presence-') ? { user_id: 'browser', user_info: { agent: 'chromium' } } : undefined)
      })
    })
    t.teardown(() => server.app.close())

    const browser = await launchChromium()
    t.teardown(() => browser.close())
    const page = await browser.newPage()
    await page.goto(`http://127.0.0.1:${server.port}/`)

    const socketId = await page.evaluate(
      ({ key, port }) =>
        new Promise<string>((resolve, reject) => {
          const w = window as unknown as { Pusher: new (key: string, options: object) => any; client: any; got: Record<string, unknown[]> }
          w.got = { news: [], members: [], client: [] }
          const client = new w.Pusher(key, {
            cluster: 'x',
            wsHost: '127.0.0.1',
            wsPort: port,
            forceTLS: false,
            enabledTransports: ['ws'],
            channelAuthorization: { endpoint: '/pusher/auth', transport: 'ajax' },
          })
          w.client = client
          client.connection.bind('connected', () => resolve(client.connection.socket_id))
          client.connection.bind('error', (error: unknown) => reject(new Error(JSON.stringify(error))))
        }),
      { key: APP.key, port: server.port },
    )
    t.match(socketId, /^\d+\.\d+$/)
    t.ok(server.app.roomcast.connections.get(socketId), 'the browser is a hub connection')

    const me = await page.evaluate(
      () =>
        new Promise<unknown>((resolve) => {
          const w = window as unknown as { client: any; got: Record<string, unknown[]> }
          const channel = w.client.subscribe('presence-browser')
          channel.bind('pusher:subscription_succeeded', (members: { me: unknown }) => resolve(members.me))
          channel.bind('pusher:member_added', (member: unknown) => w.got.members!.push(member))
          channel.bind('news', (data: unknown) => w.got.news!.push(data))
          channel.bind('client-hello', (data: unknown, meta: { user_id?: string }) => w.got.client!.push([data, meta.user_id]))
        }),
    )
    t.same(me, { id: 'browser', info: { agent: 'chromium' } })

    const node = pusherJs(server, { presence: () => ({ user_id: 'node', user_info: { agent: 'node' } }) })
    t.teardown(() => node.disconnect())
    await connected(node)
    const nodeChannel = node.subscribe('presence-browser')
    await once(nodeChannel, 'pusher:subscription_succeeded')
    const fromBrowser = once(nodeChannel, 'client-hi')
    await server.app.roomcast.pusher!.trigger(APP.id, ['presence-browser'], 'news', { n: 1 })
    nodeChannel.trigger('client-hello', { from: 'node' })
    await page.waitForFunction(() => {
      const got = (window as unknown as { got: Record<string, unknown[]> }).got
      return got.news!.length === 1 && got.members!.length === 1 && got.client!.length === 1
    })
    const got = await page.evaluate(() => (window as unknown as { got: unknown }).got)
    t.same(got, { news: [{ n: 1 }], members: [{ id: 'node', info: { agent: 'node' } }], client: [[{ from: 'node' }, 'node']] })

    await page.evaluate(() => (window as unknown as { client: any }).client.channel('presence-browser').trigger('client-hi', { from: 'chromium' }))
    t.same(await fromBrowser, { from: 'chromium' })
    await page.evaluate(() => (window as unknown as { client: any }).client.disconnect())
  })
}
