import t from 'tap'
import WebSocket from 'ws'

import { APP, nextText, rawPusher, startPusherServer } from '../helpers/pusher.js'

/** Opens a socket and resolves with every frame text and the close code and reason. */
function refusedWith(url: string): Promise<{ texts: string[]; code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    const texts: string[] = []
    ws.on('message', (raw) => texts.push(raw.toString()))
    ws.on('close', (code, reason) => resolve({ texts, code, reason: reason.toString() }))
    ws.on('error', reject)
  })
}

t.test('connection_established: double-encoded data, an unguessable digits.digits socket id, the activity timeout', async (t) => {
  const server = await startPusherServer({ pusher: { apps: [APP], activityTimeout: 45 } })
  t.teardown(() => server.app.close())
  const ws = new WebSocket(server.url())
  t.teardown(() => ws.terminate())
  const text = await nextText(ws)
  const frame = JSON.parse(text) as { event: string; data: string }
  t.same(Object.keys(frame), ['event', 'data'])
  t.equal(frame.event, 'pusher:connection_established')
  t.type(frame.data, 'string', 'data is a JSON string')
  const data = JSON.parse(frame.data) as { socket_id: string; activity_timeout: number }
  t.same(Object.keys(data), ['socket_id', 'activity_timeout'])
  t.equal(data.activity_timeout, 45)
  t.match(data.socket_id, /^\d+\.\d+$/)
  const [a, b] = data.socket_id.split('.').map(BigInt)
  t.ok(a! < 2n ** 64n && b! < 2n ** 64n, 'two 64-bit halves')
  t.equal(text, `{"event":"pusher:connection_established","data":"{\\"socket_id\\":\\"${data.socket_id}\\",\\"activity_timeout\\":45}"}`)
  // The socket id is the hub connection id.
  t.ok(server.app.roomcast.connections.get(data.socket_id), 'the hub knows the connection by its socket id')
  const second = await rawPusher(server.url())
  t.teardown(() => second.client.close())
  t.not(second.socketId, data.socket_id)
})

t.test('pusher:ping gets pusher:pong with string data; a path prefix is honoured', async (t) => {
  const server = await startPusherServer({ pusher: { apps: [APP], pathPrefix: '/realtime' } })
  t.teardown(() => server.app.close())
  const { client } = await rawPusher(server.url())
  t.teardown(() => client.close())
  const pong = nextText(client.ws, (text) => text.includes('pong'))
  client.send({ event: 'pusher:ping', data: {} })
  t.equal(await pong, '{"event":"pusher:pong","data":"{}"}')
})

t.test('refusals: pusher:error then the close code, for each reason', async (t) => {
  const disabled = { id: 'off-id', key: 'off-key', secret: 's', enabled: false }
  const server = await startPusherServer({ apps: [APP, disabled] })
  t.teardown(() => server.app.close())

  const unknown = await refusedWith(server.url('nope'))
  t.same(unknown.texts, ['{"event":"pusher:error","data":{"code":4001,"message":"App key nope does not exist."}}'])
  t.equal(unknown.code, 4001)

  const off = await refusedWith(server.url('off-key'))
  t.same(off.texts, ['{"event":"pusher:error","data":{"code":4003,"message":"The app is not enabled."}}'])
  t.equal(off.code, 4003)

  const noProtocol = await refusedWith(server.url(APP.key, 'client=js'))
  t.same(JSON.parse(noProtocol.texts[0]!), { event: 'pusher:error', data: { code: 4008, message: 'No protocol version supplied.' } })
  t.equal(noProtocol.code, 4008)

  const badVersion = await refusedWith(server.url(APP.key, 'protocol=seven'))
  t.same(JSON.parse(badVersion.texts[0]!), { event: 'pusher:error', data: { code: 4006, message: 'Invalid version string format.' } })
  t.equal(badVersion.code, 4006)

  const tooNew = await refusedWith(server.url(APP.key, 'protocol=8'))
  t.equal(JSON.parse(tooNew.texts[0]!).data.code, 4007)
  t.equal(tooNew.code, 4007)
  const tooOld = await refusedWith(server.url(APP.key, 'protocol=4'))
  t.equal(tooOld.code, 4007)

  t.equal(server.app.roomcast.connections.count(), 0, 'no refused socket became a connection')
})

t.test('connection quota: the next connection past maxConnections gets 4004', async (t) => {
  const limited = { ...APP, maxConnections: 2 }
  const server = await startPusherServer({ apps: [limited] })
  t.teardown(() => server.app.close())
  const first = await rawPusher(server.url())
  const second = await rawPusher(server.url())
  t.teardown(() => {
    first.client.close()
    second.client.close()
  })
  const third = await refusedWith(server.url())
  t.same(third.texts, ['{"event":"pusher:error","data":{"code":4004,"message":"The current concurrent connections quota has been reached."}}'])
  t.equal(third.code, 4004)
  // A slot frees up when a connection leaves.
  first.client.ws.close()
  await first.client.whenClosed()
  const fourth = await rawPusher(server.url())
  t.teardown(() => fourth.client.close())
  t.match(fourth.socketId, /^\d+\.\d+$/)
})

t.test('a silent client gets pusher:ping and, without a pong, is closed with 4201', async (t) => {
  const server = await startPusherServer({ heartbeat: { interval: 50, timeout: 150 } })
  t.teardown(() => server.app.close())
  const { client } = await rawPusher(server.url())
  t.teardown(() => client.close())
  const ping = await client.next('pusher:ping')
  t.same(ping, { event: 'pusher:ping', data: '{}' })
  const closed = await client.whenClosed()
  t.equal(closed.code, 4201)
  t.equal(client.all('pusher:error').length, 0, 'Pusher closes a silent connection without an error frame')
})

t.test('a client that answers pings stays; shutdown closes with pusher:error 4200', async (t) => {
  const server = await startPusherServer({ heartbeat: { interval: 40, timeout: 120 } })
  const { client } = await rawPusher(server.url())
  t.teardown(() => client.close())
  client.ws.on('message', (raw) => {
    if (raw.toString().includes('pusher:ping')) client.send({ event: 'pusher:pong', data: {} })
  })
  for (let i = 0; i < 6; i++) await client.next('pusher:ping')
  t.equal(client.closed, undefined, 'still open after six ping rounds')
  await server.app.close()
  const closed = await client.whenClosed()
  t.equal(closed.code, 4200)
  t.same(client.all('pusher:error').at(-1), { event: 'pusher:error', data: { code: 4200, message: 'Server closed. Please reconnect shortly.' } })
})

t.test('bad frames get pusher:error and the connection stays open', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const { client } = await rawPusher(server.url())
  t.teardown(() => client.close())
  client.send('not json')
  t.same(await client.next('pusher:error'), { event: 'pusher:error', data: { code: null, message: 'The message is not valid JSON.' } })
  client.send({ nothing: true })
  t.same((await client.next('pusher:error')).data, { code: null, message: 'A message must be a JSON object with an "event" string.' })
  client.send({ event: 'pusher:bogus' })
  t.same((await client.next('pusher:error')).data, { code: null, message: 'Unsupported event "pusher:bogus".' })
  client.ws.send(Buffer.from([1, 2, 3]), { binary: true })
  t.same((await client.next('pusher:error')).data, { code: null, message: 'Binary frames are not supported.' })
  client.send({ event: 'pusher:ping', data: {} })
  await client.next('pusher:pong')
  t.equal(client.closed, undefined)
})

t.test('the hub disconnect of a Pusher connection maps to 4009 with pusher:error', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const { client, socketId } = await rawPusher(server.url())
  t.teardown(() => client.close())
  t.equal(await server.app.roomcast.connections.disconnect(socketId), 1)
  const closed = await client.whenClosed()
  t.equal(closed.code, 4009)
  t.same(client.all('pusher:error'), [{ event: 'pusher:error', data: { code: 4009, message: 'disconnected by the server' } }])
})

t.test('apps from a lookup get their own room namespace; two apps never share a channel', async (t) => {
  const apps = [APP, { id: 'other-id', key: 'other-key', secret: 'other-secret' }]
  const lookups: string[] = []
  const server = await startPusherServer({
    pusher: {
      apps: {
        byKey: async (key: string) => {
          lookups.push(key)
          return apps.find((app) => app.key === key)
        },
        byId: (id: string) => apps.find((app) => app.id === id),
      },
    },
  })
  t.teardown(() => server.app.close())
  const first = await rawPusher(server.url())
  const second = await rawPusher(server.url('other-key'))
  t.teardown(() => [first, second].forEach(({ client }) => client.close()))
  t.same(lookups, [APP.key, 'other-key'])
  for (const { client } of [first, second]) {
    client.send({ event: 'pusher:subscribe', data: { channel: 'news' } })
    await client.next('pusher_internal:subscription_succeeded')
  }
  const pusher = server.app.roomcast.pusher!
  const app = (await pusher.apps.byId(APP.id))!
  t.equal(pusher.room(app, 'news'), '\u0000pusher:app-id:news', "a channel's room is in Pusher's namespace, under its app id")
  t.same(await server.app.roomcast.rooms.list(), [], 'channels are not native rooms')
  await pusher.trigger(APP.id, ['news'], 'only-first', {})
  await pusher.trigger('other-id', ['news'], 'only-second', {})
  t.same(await first.client.next('only-first'), { event: 'only-first', channel: 'news', data: '{}' }, 'the channel field carries the name without the prefix')
  t.same(await second.client.next('only-second'), { event: 'only-second', channel: 'news', data: '{}' })
  await pusher.trigger('other-id', ['news'], 'marker', {})
  await second.client.next('marker')
  t.equal(second.client.all('only-first').length, 0)
  t.equal(first.client.all('only-second').length, 0)
})
