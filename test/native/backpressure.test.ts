import type { Socket } from 'node:net'
import t from 'tap'
import type { Connection } from '../../plugin/index.js'
import WebSocket from 'ws'
import { testClient, startTestServer, nextEvent } from '../helpers/client.js'
import { type RawClient, connect, socketOf, startServer, until } from '../helpers/server.js'
import { APP, rawPusher, startPusherServer } from '../helpers/pusher.js'

type Test = Parameters<Parameters<typeof t.test>[1]>[0]

const MESSAGE_BYTES = 16 * 1024
const LIMIT = 256 * 1024
const ROUNDS = 240
const PER_ROUND = 8

/** The TCP socket under a ws client: pausing it makes a reader that never reads. */
function tcpOf(client: RawClient | WebSocket): Socket {
  const ws = client instanceof WebSocket ? client : client.ws
  return (ws as unknown as { _socket: Socket })._socket
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/**
 * Offers ROUNDS × PER_ROUND messages to the room, a round per event-loop turn (as live traffic
 * arrives), and records the slow socket's largest backlog.
 */
type App = Awaited<ReturnType<typeof startServer>>['app']

/** Sends `tick` to the native room `feed`; a Pusher channel is reached through the Pusher API instead. */
function nativeFeed(app: App, data: { n: number; text: string }): void {
  void app.roomcast.rooms.to('feed').emit('tick', data)
}

async function flood(
  app: App,
  slow: Connection,
  send: (app: App, data: { n: number; text: string }) => void = nativeFeed,
): Promise<{ offered: number; maxBuffered: number }> {
  const text = 'x'.repeat(MESSAGE_BYTES)
  let offered = 0
  let maxBuffered = 0
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < PER_ROUND; i++) send(app, { n: offered++, text })
    maxBuffered = Math.max(maxBuffered, socketOf(slow).bufferedAmount)
    await nextTurn()
  }
  return { offered, maxBuffered }
}

/** A server with `options`, and two clients in the room `feed`: one to be paused, one that keeps up. */
async function slowAndFastReaders(t: Test, options: Parameters<typeof startServer>[0]) {
  const { app, url } = await startServer(options)
  t.teardown(() => app.close())
  const slowClient = await connect(url)
  const fastClient = await connect(url)
  t.teardown(() => [slowClient.client, fastClient.client].forEach((c) => c.close()))
  await slowClient.client.request('join', { rooms: ['feed'] })
  await fastClient.client.request('join', { rooms: ['feed'] })
  const slow = app.roomcast.connections.get(slowClient.connected.data.connectionId)!
  const fast = app.roomcast.connections.get(fastClient.connected.data.connectionId)!
  return { app, slowClient, fastClient, slow, fast }
}

t.test('drop policy: a slow reader loses messages (counted), memory stays bounded, the socket stays open', async (t) => {
  // No bound on drops in a row: this reader stays paused for the whole flood.
  const { app, slowClient, fastClient, slow, fast } = await slowAndFastReaders(t, {
    backpressure: { maxBufferedBytes: LIMIT, policy: 'drop', maxDropped: Infinity },
  })

  tcpOf(slowClient.client).pause()
  const { offered, maxBuffered } = await flood(app, slow)
  t.ok(slow.dropped > 0, `the slow reader dropped ${slow.dropped} of ${offered}`)
  t.ok(maxBuffered <= LIMIT + MESSAGE_BYTES + 64, `backlog stayed near the limit (max ${maxBuffered})`)
  t.equal(slow.state, 'authenticated', 'still connected')
  t.equal(fast.dropped, 0, 'a reader that keeps up loses nothing')

  await fastClient.client.next((f) => f.event === 'tick' && f.data.n === offered - 1, 20_000)
  t.equal(fastClient.client.all('tick').length, offered)

  tcpOf(slowClient.client).resume()
  await until(() => socketOf(slow).bufferedAmount === 0, 20_000, 'the backlog drains')
  app.roomcast.rooms.to('feed').emit('done', null)
  await slowClient.client.next('done', 20_000)
  const received = slowClient.client.all('tick').map((f) => f.data.n as number)
  t.equal(received.length + slow.dropped, offered, 'every message was either delivered or counted as dropped')
  t.same(
    received,
    [...received].sort((a, b) => a - b),
    'what arrived is in order',
  )
  t.equal(slowClient.client.closed, undefined)
})

t.test('close policy: a slow reader is closed with 1008 and removed at once; others are untouched', async (t) => {
  const disconnects: Array<{ code: number; reason: string }> = []
  const { app, slowClient, fastClient, slow } = await slowAndFastReaders(t, { backpressure: { maxBufferedBytes: LIMIT, policy: 'close' } })
  app.roomcast.addHook('disconnect', (_connection, info) => {
    disconnects.push(info)
  })

  tcpOf(slowClient.client).pause()
  const { offered, maxBuffered } = await flood(app, slow)
  t.ok(maxBuffered <= LIMIT + MESSAGE_BYTES + 64, `backlog stayed near the limit (max ${maxBuffered})`)
  t.equal(slow.state, 'closed')
  t.equal(app.roomcast.connections.get(slow.id), undefined)
  t.same(await app.roomcast.rooms.members('feed'), [{ connectionId: fastClient.connected.data.connectionId, userId: undefined }])
  t.same(disconnects, [{ code: 1008, reason: 'backpressure: the socket fell too far behind' }])

  tcpOf(slowClient.client).resume()
  t.same(await slowClient.client.whenClosed(20_000), { code: 1008, reason: 'backpressure: the socket fell too far behind' })
  await fastClient.client.next((f) => f.event === 'tick' && f.data.n === offered - 1, 20_000)
  t.equal(fastClient.client.all('tick').length, offered)
  t.equal(fastClient.client.closed, undefined)
})

/** The sum of the `dropped` notices a raw client received. */
function noticed(client: RawClient): number {
  return client.all('dropped').reduce((sum, frame) => sum + (frame.data.count as number), 0)
}

t.test('drop policy: a reader that catches up is told how many messages it missed, exactly where the gap is', async (t) => {
  const { app, slowClient, slow } = await slowAndFastReaders(t, { backpressure: { maxBufferedBytes: LIMIT, policy: 'drop', maxDropped: Infinity } })

  tcpOf(slowClient.client).pause()
  const { offered } = await flood(app, slow)
  t.ok(slow.dropped > 0, `the slow reader dropped ${slow.dropped} of ${offered}`)
  tcpOf(slowClient.client).resume()
  // Nothing more is sent: the notice must come from the socket draining, not from a later message.
  await until(() => noticed(slowClient.client) === slow.dropped, 20_000, 'every drop is reported once the socket drains')

  app.roomcast.rooms.to('feed').emit('done', null)
  await slowClient.client.next('done', 20_000)
  let last = -1
  let gap = 0
  for (const frame of slowClient.client.frames) {
    if (frame.event === 'dropped') {
      t.ok(Number.isInteger(frame.data.count) && frame.data.count > 0, 'a notice carries a positive count')
      t.same(Object.keys(frame.data), ['count'])
      gap += frame.data.count as number
    } else if (frame.event === 'tick') {
      const n = frame.data.n as number
      if (n !== last + 1 + gap) t.fail(`tick ${n} after ${last} with ${gap} reported missing`)
      last = n
      gap = 0
    }
  }
  t.equal(last + 1 + gap, offered, 'the last gap is reported too')
  t.equal(slowClient.client.closed, undefined, 'still connected')
})

t.test('drop policy: past backpressure.maxDropped drops in a row the reader is closed with 1008', async (t) => {
  const disconnects: Array<{ code: number; reason: string }> = []
  const { app, slowClient, fastClient, slow } = await slowAndFastReaders(t, { backpressure: { maxBufferedBytes: LIMIT, policy: 'drop', maxDropped: 50 } })
  app.roomcast.addHook('disconnect', (_connection, info) => {
    disconnects.push(info)
  })

  tcpOf(slowClient.client).pause()
  const { offered } = await flood(app, slow)
  t.equal(slow.state, 'closed')
  t.equal(slow.dropped, 50, 'exactly maxDropped messages were dropped before the close')
  t.same(disconnects, [{ code: 1008, reason: 'backpressure: the socket fell too far behind' }])

  tcpOf(slowClient.client).resume()
  t.same(await slowClient.client.whenClosed(20_000), { code: 1008, reason: 'backpressure: the socket fell too far behind' })
  await fastClient.client.next((f) => f.event === 'tick' && f.data.n === offered - 1, 20_000)
  t.equal(fastClient.client.closed, undefined, 'a reader that keeps up is untouched')
})

t.test('backpressure.maxDropped is validated', async (t) => {
  for (const maxDropped of [0, -1, 1.5, Number.NaN]) {
    await t.rejects(startServer({ backpressure: { maxDropped } }), { message: /backpressure\.maxDropped/ }, String(maxDropped))
  }
  await t.rejects(startServer({ backpressure: { policy: 'ignore' as 'drop' } }), { message: /backpressure\.policy/ })
})

t.test('Pusher: past maxDropped a slow pusher connection is closed with 4100 (pusher-js reconnects after a backoff)', async (t) => {
  const server = await startPusherServer({ backpressure: { maxBufferedBytes: LIMIT, policy: 'drop', maxDropped: 50 } })
  t.teardown(() => server.app.close())
  const { client, socketId } = await rawPusher(server.url())
  t.teardown(() => client.close())
  client.send({ event: 'pusher:subscribe', data: { channel: 'feed' } })
  await client.next('pusher_internal:subscription_succeeded')
  const slow = server.app.roomcast.connections.get(socketId)!

  tcpOf(client).pause()
  await flood(server.app, slow, (app, data) => void app.roomcast.pusher!.trigger(APP.id, ['feed'], 'tick', data))
  t.equal(slow.state, 'closed')
  t.equal(slow.dropped, 50)
  tcpOf(client).resume()
  t.equal((await client.whenClosed(20_000)).code, 4100)
  t.equal(client.all('dropped').length, 0, 'Pusher clients get no native notice')
})

t.test('client SDK: a slow client hears of its gap as a typed `dropped` event', async (t) => {
  const server = await startTestServer({ backpressure: { maxBufferedBytes: LIMIT, policy: 'drop', maxDropped: Infinity } })
  t.teardown(() => server.close())
  const sockets: WebSocket[] = []
  class RecordedWebSocket extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args)
      sockets.push(this)
    }
  }
  const client = testClient(server.url, { WebSocket: RecordedWebSocket as unknown as typeof WebSocket, heartbeatGrace: false })
  t.teardown(() => client.close())
  await client.ready()
  await client.join('feed')
  let counted = 0
  client.on('dropped', ({ count }) => {
    counted += count
  })
  const connection = server.app.roomcast.connections.get(client.connectionId!)!

  tcpOf(sockets[0]!).pause()
  const text = 'x'.repeat(MESSAGE_BYTES)
  for (let round = 0; round < ROUNDS && connection.dropped === 0; round++) {
    for (let i = 0; i < PER_ROUND; i++) server.app.roomcast.rooms.to('feed').emit('said', { from: 'server', text })
    await nextTurn()
  }
  t.ok(connection.dropped > 0, 'messages were dropped')
  const notice = nextEvent(client, 'dropped', 20_000)
  tcpOf(sockets[0]!).resume()
  await notice
  await until(() => counted === connection.dropped, 20_000, 'the client heard of every drop')
  t.equal(client.state, 'connected')
})
