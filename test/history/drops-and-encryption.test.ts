import type { Socket } from 'node:net'
import t from 'tap'
import { EncryptedRawClient } from '../helpers/encryption.js'
import { connect, socketOf, until } from '../helpers/server.js'
import { historyServer, publish } from './support.js'

t.test('a drop notice carries the position of the first dropped publication per history room', async (t) => {
  const { app, url } = await historyServer({ backpressure: { maxBufferedBytes: 64 * 1024, policy: 'drop', maxDropped: Infinity } })
  t.teardown(() => app.close())
  const { client, connected } = await connect(url)
  t.teardown(() => client.close())
  const ack = await client.request('join', { rooms: ['chat:a', 'lobby'] })
  const epoch = ack.data.streams['chat:a'].epoch
  const connection = app.roomcast.connections.get(connected.data.connectionId)!
  ;(client.ws as unknown as { _socket: Socket })._socket.pause()
  const text = 'x'.repeat(16 * 1024)
  let n = 0
  while (connection.dropped === 0) {
    for (let i = 0; i < 4; i++) {
      void app.roomcast.rooms.to('chat:a').emit('msg', { n: ++n, text })
      void app.roomcast.rooms.to('lobby').emit('plain', { text })
    }
    await new Promise((resolve) => setImmediate(resolve))
  }
  const stored = await app.roomcast.rooms.history('chat:a', { limit: 1000 })
  ;(client.ws as unknown as { _socket: Socket })._socket.resume()
  await until(() => socketOf(connection).bufferedAmount === 0, 20_000, 'the backlog drains')
  const notice = await client.next('dropped', 20_000)
  const got = client.frames.filter((frame) => frame.event === 'msg').map((frame) => (frame as { offset: number }).offset)
  const firstMissing = stored.publications.map((p) => p.offset).find((offset) => !got.includes(offset))
  t.ok(notice.data.count >= 1)
  t.same(notice.data.rooms, { 'chat:a': { epoch, offset: firstMissing } }, 'where the gap of chat:a begins; lobby has no position')
})

t.test('encrypted connections: recovery replays through the per-socket encryption, in order', async (t) => {
  const { app, url } = await historyServer({ encryption: 'required' })
  t.teardown(() => app.close())
  const positions = await publish(app, 'chat:a', 1, 4)
  const epoch = positions[0]!.epoch
  const client = await EncryptedRawClient.open(url)
  t.teardown(() => client.close())
  await client.handshake()
  await client.next('connected')
  const ack = await client.request('join', { rooms: ['chat:a'], recover: { 'chat:a': { epoch, offset: 1 } } })
  t.same(ack.data.streams['chat:a'], { epoch, offset: 4, recovered: true, replayed: 3 })
  const replayed = [await client.next('msg'), await client.next('msg'), await client.next('msg')]
  t.same(
    replayed.map((frame) => [frame.data.n, (frame as { offset?: number }).offset, (frame as { epoch?: string }).epoch]),
    [2, 3, 4].map((n) => [n, n, epoch]),
  )
  t.ok(
    client.raw.frames.every((frame) => frame.event === 'key-exchange' || frame.event === 'encrypted'),
    'nothing in plaintext',
  )
})
