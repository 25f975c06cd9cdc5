import websocket from '@fastify/websocket'
import Fastify from 'fastify'
import t from 'tap'
import roomcast from '../../plugin/index.js'
import { CloseCode } from '../../shared/codes.js'
import { RawClient, connect, delay, echoClient, startServer, until } from '../helpers/server.js'
import { rawPusher, startPusherServer } from '../helpers/pusher.js'

const envelopeMessage = 'the frame is not an envelope { event, data?, id? }'

t.test('not JSON: bad_json, and the connection stays open and working', async (t) => {
  const { client, errors } = await echoClient(t)
  for (const text of ['{', 'hello', '{"event":"echo",}', '']) {
    client.send(text)
    t.same(await client.next('error'), { event: 'error', data: { code: 'bad_json', message: 'the frame is not valid JSON' } }, JSON.stringify(text))
  }
  t.same(await client.request('echo', 'still here'), { event: 'ack', id: 1, data: 'still here' })
  t.same(errors, ['bad_json', 'bad_json', 'bad_json', 'bad_json'], 'the error hook hears of bad input')
})

t.test('wrong envelope shapes: bad_envelope with the failing paths, answering the id when it is usable', async (t) => {
  const { app, url } = await startServer({})
  app.roomcast.on('echo', (_connection, data) => data)
  t.teardown(() => app.close())
  const { client } = await connect(url)
  t.teardown(() => client.close())
  const cases: Array<[string, number | undefined, Array<{ path: string; message: string }>]> = [
    [
      '{"data":1,"id":5}',
      5,
      [
        { path: '/event', message: 'Expected required property' },
        { path: '/event', message: 'Expected string' },
      ],
    ],
    ['{"event":"echo","extra":1,"id":6}', 6, [{ path: '/extra', message: 'Unexpected property' }]],
    ['{"event":"echo","id":1.5}', undefined, [{ path: '/id', message: 'Expected integer' }]],
    ['{"event":"echo","id":"7"}', undefined, [{ path: '/id', message: 'Expected integer' }]],
    ['{"event":"echo","id":-1}', undefined, [{ path: '/id', message: 'Expected integer to be greater or equal to 0' }]],
    ['{"event":"","id":8}', 8, [{ path: '/event', message: 'Expected string length greater or equal to 1' }]],
    [JSON.stringify({ event: 'e'.repeat(201), id: 9 }), 9, [{ path: '/event', message: 'Expected string length less or equal to 200' }]],
    ['{"event":5}', undefined, [{ path: '/event', message: 'Expected string' }]],
    ['[1,2]', undefined, [{ path: '/', message: 'Expected object' }]],
    ['42', undefined, [{ path: '/', message: 'Expected object' }]],
    ['null', undefined, [{ path: '/', message: 'Expected object' }]],
    ['"event"', undefined, [{ path: '/', message: 'Expected object' }]],
  ]
  for (const [text, id, details] of cases) {
    client.send(text)
    const expected: Record<string, unknown> = { event: 'error', data: { code: 'bad_envelope', message: envelopeMessage, details } }
    if (id !== undefined) expected.id = id
    t.same(await client.next('error'), expected, text.slice(0, 40))
  }
  t.same(await client.request('echo', 1), { event: 'ack', id: 1, data: 1 }, 'still open')
})

t.test('a binary frame: binary_not_supported, then close 1003', async (t) => {
  const { app, url } = await startServer({})
  t.teardown(() => app.close())
  const { client } = await connect(url)
  t.teardown(() => client.close())
  client.ws.send(Buffer.from('{"event":"echo"}'))
  t.same(await client.next('error'), { event: 'error', data: { code: 'binary_not_supported', message: 'binary frames are not supported' } })
  t.same(await client.whenClosed(), { code: 1003, reason: 'binary frames are not supported' })
  t.equal(app.roomcast.connections.count(), 0)
})

t.test('a text frame that is not valid UTF-8: close 1007 on both ends, and the server carries on', async (t) => {
  const disconnects: Array<{ code: number; reason: string }> = []
  const { app, url } = await startServer({})
  app.roomcast.on('echo', (_connection, data) => data)
  app.roomcast.addHook('disconnect', (_connection, info) => {
    disconnects.push(info)
  })
  t.teardown(() => app.close())
  const { client } = await connect(url)
  t.teardown(() => client.close())
  // 0xff never occurs in UTF-8; `binary: false` sends the bytes as a text frame as they are.
  client.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false })
  t.equal((await client.whenClosed()).code, CloseCode.InvalidPayload, 'the client sees 1007')
  await until(() => app.roomcast.connections.count() === 0, 5000, 'the connection is removed')
  t.same(
    disconnects.map((d) => d.code),
    [CloseCode.InvalidPayload],
    'the server sees 1007',
  )
  const { client: next } = await connect(url)
  t.teardown(() => next.close())
  t.same(await next.request('echo', 'fine'), { event: 'ack', id: 1, data: 'fine' }, 'other connections are unaffected')
})

t.test('a text frame that is not valid UTF-8 on the Pusher route: close 1007 too', async (t) => {
  const codes: number[] = []
  const server = await startPusherServer()
  server.app.roomcast.addHook('disconnect', (_connection, info) => {
    codes.push(info.code)
  })
  t.teardown(() => server.app.close())
  const { client } = await rawPusher(server.url())
  t.teardown(() => client.close())
  client.ws.send(Buffer.from([0x7b, 0xff, 0x7d]), { binary: false })
  t.equal((await client.whenClosed()).code, CloseCode.InvalidPayload, 'the client sees 1007')
  await until(() => server.app.roomcast.connections.count() === 0, 5000, 'the connection is removed')
  t.same(codes, [CloseCode.InvalidPayload], 'the server sees 1007')
})

t.test('maxPayload: a frame at the limit is read, one byte more closes with 1009', async (t) => {
  const { app, url } = await startServer({ maxPayload: 1024 })
  app.roomcast.on('echo', (_connection, data) => (data as string).length)
  t.teardown(() => app.close())
  const { client } = await connect(url)
  t.teardown(() => client.close())
  const frame = (pad: string): string => JSON.stringify({ event: 'echo', data: pad, id: 1 })
  const envelopeAt = (bytes: number): string => frame('x'.repeat(bytes - frame('').length))
  t.equal(Buffer.byteLength(envelopeAt(1024)), 1024)
  client.send(envelopeAt(1024))
  t.same(await client.next('ack'), { event: 'ack', id: 1, data: 1024 - frame('').length })
  client.send(envelopeAt(1025))
  t.equal((await client.whenClosed()).code, 1009)
  t.same(client.all('ack').length, 1)
})

t.test('maxPayload is enforced when the app registered @fastify/websocket itself with a larger limit', async (t) => {
  const app = Fastify({ logger: false })
  await app.register(websocket, { options: { maxPayload: 10 * 1024 * 1024 } })
  await app.register(roomcast, { maxPayload: 1024 })
  app.roomcast.on('echo', (_connection, data) => (data as string).length)
  // The app's own WebSocket route keeps the app's limit.
  app.get('/own', { websocket: true }, (socket) => {
    socket.on('message', (data) => socket.send(String((data as Buffer).length)))
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const port = (app.server.address() as { port: number }).port

  const { client } = await connect(`ws://127.0.0.1:${port}/ws`)
  t.teardown(() => client.close())
  t.same(await client.request('echo', 'small'), { event: 'ack', id: 1, data: 5 })
  client.send(JSON.stringify({ event: 'echo', data: 'x'.repeat(4096), id: 2 }))
  t.equal((await client.whenClosed()).code, 1009)
  t.same(client.all('ack').length, 1, 'the oversized frame was never handled')
  t.equal(app.roomcast.connections.count(), 0)

  const own = new RawClient(`ws://127.0.0.1:${port}/own`)
  t.teardown(() => own.close())
  await new Promise((resolve) => own.ws.once('open', resolve))
  const reply = new Promise<string>((resolve) => own.ws.once('message', (data) => resolve(data.toString())))
  own.ws.send('y'.repeat(4096))
  t.equal(await reply, '4096')
})

t.test('rate limit: past max per window, rate_limited then close 1008', async (t) => {
  let handled = 0
  const { app, url } = await startServer({ rateLimit: { max: 5, windowMs: 60_000 } })
  app.roomcast.on('tick', () => {
    handled++
    return handled
  })
  t.teardown(() => app.close())
  const client = await RawClient.open(url)
  t.teardown(() => client.close())
  await client.next('connected')
  for (let i = 0; i < 8; i++) client.send({ event: 'tick', id: i })
  t.same(await client.next('error'), { event: 'error', data: { code: 'rate_limited', message: 'too many messages' } })
  t.same(await client.whenClosed(), { code: 1008, reason: 'rate limit exceeded' })
  t.equal(handled, 5)
  t.same(
    client.all('ack').map((f) => f.id),
    [0, 1, 2, 3, 4],
  )
  t.equal(app.roomcast.connections.count(), 0)
})

t.test('rate limit: the window resets; false turns it off', async (t) => {
  const limited = await startServer({ rateLimit: { max: 3, windowMs: 100 } })
  limited.app.roomcast.on('tick', () => 'ok')
  t.teardown(() => limited.app.close())
  const { client } = await connect(limited.url)
  t.teardown(() => client.close())
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 3; i++) client.send({ event: 'tick', id: round * 3 + i })
    await client.next((f) => f.id === round * 3 + 2)
    await delay(120)
  }
  t.equal(client.closed, undefined)
  t.equal(client.all('ack').length, 9)

  const open = await startServer({ rateLimit: false })
  open.app.roomcast.on('tick', () => 'ok')
  t.teardown(() => open.app.close())
  const { client: fast } = await connect(open.url)
  t.teardown(() => fast.close())
  for (let i = 0; i < 500; i++) fast.send({ event: 'tick', id: i })
  await fast.next((f) => f.id === 499)
  t.equal(fast.closed, undefined)
  t.equal(fast.all('ack').length, 500)
})
