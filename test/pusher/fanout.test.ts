import type { Socket } from 'node:net'
import t from 'tap'
import { socketOf } from '../helpers/server.js'
import { APP, rawPusher, startPusherServer, type PusherServer } from '../helpers/pusher.js'
import { signedFetch } from '../helpers/pusher-http.js'

/** What reached a server-side TCP socket's system-call layer: one entry per write(2)/writev(2), with its chunks. */
function recordSyscalls(server: PusherServer, socketId: string): Buffer[][] {
  const socket = (socketOf(server.app.roomcast.connections.get(socketId)!) as unknown as { _socket: Socket })._socket
  const calls: Buffer[][] = []
  const internals = socket as unknown as {
    _write(chunk: Buffer, encoding: string, cb: () => void): void
    _writev(chunks: Array<{ chunk: Buffer }>, cb: () => void): void
  }
  const write = internals._write.bind(socket)
  const writev = internals._writev.bind(socket)
  internals._write = (chunk, encoding, cb) => {
    calls.push([chunk])
    write(chunk, encoding, cb)
  }
  internals._writev = (chunks, cb) => {
    calls.push(chunks.map(({ chunk }) => chunk))
    writev(chunks, cb)
  }
  return calls
}

async function subscribers(server: PusherServer, count: number, channel: string) {
  const clients = await Promise.all(Array.from({ length: count }, () => rawPusher(server.url())))
  for (const { client } of clients) {
    client.send({ event: 'pusher:subscribe', data: { channel } })
    await client.next('pusher_internal:subscription_succeeded')
  }
  return clients
}

t.test('events published in separate callbacks of one event-loop turn leave each socket in one write, the same bytes for all', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const clients = await subscribers(server, 3, 'news')
  t.teardown(() => clients.forEach(({ client }) => client.close()))
  const calls = clients.map(({ socketId }) => recordSyscalls(server, socketId))
  const pusher = server.app.roomcast.pusher!

  // Two macrotasks of the same turn, as two HTTP requests read in one poll are.
  setImmediate(() => void pusher.trigger(APP.id, ['news'], 'first', { n: 1 }))
  setImmediate(() => void pusher.trigger(APP.id, ['news'], 'second', { n: 2 }))
  for (const { client } of clients) await client.next('second')

  for (const [i, { client }] of clients.entries()) {
    t.same(
      client.frames.filter((frame) => frame.event === 'first' || frame.event === 'second').map((frame) => frame.data),
      ['{"n":1}', '{"n":2}'],
      `subscriber ${i}: both events, in order`,
    )
    t.equal(calls[i]!.length, 1, `subscriber ${i}: one system call`)
    t.equal(calls[i]![0]!.length, 2, `subscriber ${i}: carrying both frames`)
  }
  for (const index of [0, 1]) {
    const frames = calls.map((socketCalls) => socketCalls[0]![index])
    t.ok(
      frames.every((frame) => frame === frames[0]),
      `frame ${index + 1}: one buffer, shared by every subscriber`,
    )
  }
})

t.test('an HTTP API publish reaches every subscriber but the excluded socket, framed once', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const clients = await subscribers(server, 4, 'headlines')
  t.teardown(() => clients.forEach(({ client }) => client.close()))
  const calls = clients.map(({ socketId }) => recordSyscalls(server, socketId))
  const excluded = clients[0]!
  const response = await signedFetch(server.port, 'POST', `/apps/${APP.id}/events`, {
    name: 'news',
    channels: ['headlines'],
    data: '{"headline":"hi"}',
    socket_id: excluded.socketId,
  })
  t.equal(response.status, 200)
  for (const { client } of clients.slice(1)) {
    t.same(await client.next('news'), { event: 'news', channel: 'headlines', data: '{"headline":"hi"}' })
  }
  const expected = '{"event":"news","channel":"headlines","data":"{\\"headline\\":\\"hi\\"}"}'
  const written = calls.slice(1).map((socketCalls) => socketCalls.flat())
  for (const chunks of written) t.equal(chunks.length, 1)
  t.ok(
    written.every((chunks) => chunks[0] === written[0]![0]),
    'one buffer for every subscriber',
  )
  t.equal(written[0]![0]!.subarray(2).toString(), expected, 'the Pusher frame, byte for byte')
  t.same(calls[0], [], 'the socket named by socket_id got nothing')
})

t.test('a high-water mark of bytes leaves at once: large frames are not held for the turn, and never count as a backlog', async (t) => {
  const server = await startPusherServer({ apps: [{ ...APP, maxEventPayloadKb: 64 }] })
  t.teardown(() => server.app.close())
  const [subscriber] = await subscribers(server, 1, 'big')
  t.teardown(() => subscriber!.client.close())
  const calls = recordSyscalls(server, subscriber!.socketId)
  const socket = socketOf(server.app.roomcast.connections.get(subscriber!.socketId)!)
  const pusher = server.app.roomcast.pusher!
  const buffered: number[] = []
  for (let i = 0; i < 3; i++) {
    void pusher.trigger(APP.id, ['big'], 'large', { i, text: 'x'.repeat(20 * 1024) })
    buffered.push(socket.bufferedAmount)
  }
  for (let i = 0; i < 3; i++) await subscriber!.client.next('large')
  t.same(
    calls.map((chunks) => chunks.length),
    [1, 1, 1],
    'one system call per 20 KiB frame, each as it is written',
  )
  t.same(buffered, [0, 0, 0], 'nothing left waiting for the end of the turn')
})
