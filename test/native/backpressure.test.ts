import type { Socket } from 'node:net'
import t from 'tap'
import type { Connection } from '../../plugin/index.js'
import { RawClient, connect, socketOf, startServer, until } from '../helpers/server.js'

type Test = Parameters<Parameters<typeof t.test>[1]>[0]

const MESSAGE_BYTES = 16 * 1024
const LIMIT = 256 * 1024
const ROUNDS = 240
const PER_ROUND = 8

/** The TCP socket under a ws client: pausing it makes a reader that never reads. */
function tcpOf(client: RawClient): Socket {
  return (client.ws as unknown as { _socket: Socket })._socket
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/**
 * Offers ROUNDS × PER_ROUND messages to the room, a round per event-loop turn (as live traffic
 * arrives), and records the slow socket's largest backlog.
 */
async function flood(app: Awaited<ReturnType<typeof startServer>>['app'], slow: Connection): Promise<{ offered: number; maxBuffered: number }> {
  const text = 'x'.repeat(MESSAGE_BYTES)
  let offered = 0
  let maxBuffered = 0
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < PER_ROUND; i++) app.roomcast.rooms.to('feed').emit('tick', { n: offered++, text })
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
  const { app, slowClient, fastClient, slow, fast } = await slowAndFastReaders(t, { backpressure: { maxBufferedBytes: LIMIT, policy: 'drop' } })

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
  t.same(received, [...received].sort((a, b) => a - b), 'what arrived is in order')
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
