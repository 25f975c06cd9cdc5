import type { Socket } from 'node:net'
import t from 'tap'
import type { Connection } from '../../plugin/index.js'
import { type RawClient, connectMany, socketOf, startServer } from '../helpers/server.js'

/** A payload that counts how often it is serialized. */
function countingPayload(): { payload: { toJSON(): unknown }; count: () => number } {
  let calls = 0
  return {
    payload: {
      toJSON() {
        calls++
        return { text: 'hello room', list: [1, 2, 3] }
      },
    },
    count: () => calls,
  }
}

/** Every raw text message a client receives, exactly as sent. */
function rawTexts(client: RawClient): string[] {
  const texts: string[] = []
  client.ws.on('message', (data) => texts.push(data.toString()))
  return texts
}

/** Records the chunks written to a server-side connection's TCP socket. */
function recordWrites(connection: Connection): unknown[] {
  const socket = (socketOf(connection) as unknown as { _socket: Socket })._socket
  const chunks: unknown[] = []
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean
  socket.write = ((...args: unknown[]) => {
    chunks.push(args[0])
    return write(...args)
  }) as Socket['write']
  return chunks
}

t.test('a room emit to 50 sockets serializes once and writes the same frame bytes to each', async (t) => {
  const { app, url } = await startServer({})
  t.teardown(() => app.close())
  const clients = await connectMany(url, 50)
  t.teardown(() => clients.forEach(({ client }) => client.close()))
  for (const { connected } of clients) await app.roomcast.rooms.join(connected.data.connectionId, 'big')
  // Each client is told of the server-side join first; the frames under test come after.
  await Promise.all(clients.map(({ client }) => client.next('membership')))
  const texts = clients.map(({ client }) => rawTexts(client))
  const writes = clients.map(({ connected }) => recordWrites(app.roomcast.connections.get(connected.data.connectionId)!))

  const { payload, count } = countingPayload()
  app.roomcast.rooms.to('big').emit('news', payload)
  t.equal(count(), 1, 'toJSON ran once for 50 recipients')
  await Promise.all(clients.map(({ client }) => client.next('news')))

  const expected = '{"event":"news","data":{"text":"hello room","list":[1,2,3]},"room":"big"}'
  for (const received of texts) t.same(received, [expected])
  const frames = writes.map((chunks) => chunks[0])
  t.ok(Buffer.isBuffer(frames[0]))
  t.ok(
    frames.every((frame) => frame === frames[0]),
    'one frame buffer, shared by every socket',
  )
  t.same(
    writes.map((chunks) => chunks.length),
    writes.map(() => 1),
  )
})

t.test('one serialization for every kind of target; one frame per room for multi-room targets', async (t) => {
  const { app, url } = await startServer({ authenticate: (data) => ({ userId: (data as { user: string }).user }) })
  t.teardown(() => app.close())
  const clients = await connectMany(url, 6, (i) => ({ user: i < 3 ? 'ann' : 'ben' }))
  t.teardown(() => clients.forEach(({ client }) => client.close()))
  const ids = clients.map(({ connected }) => connected.data.connectionId as string)
  for (const [i, id] of ids.entries()) await app.roomcast.rooms.join(id, i % 2 === 0 ? 'even' : 'odd')
  const targets: Array<[string, (payload: unknown) => void, number]> = [
    ['rooms', (p) => app.roomcast.rooms.to(['even', 'odd']).emit('m', p), 6],
    ['users', (p) => app.roomcast.users.to(['ann', 'ben']).emit('m', p), 6],
    ['connections', (p) => app.roomcast.emitter.toConnection(ids).emit('m', p), 6],
    ['all', (p) => app.roomcast.broadcast('m', p), 6],
  ]
  for (const [name, emit, recipients] of targets) {
    const { payload, count } = countingPayload()
    emit(payload)
    t.equal(count(), 1, `${name}: serialized once`)
    const got = await Promise.all(clients.map(({ client }) => client.next('m')))
    t.equal(got.length, recipients)
  }
  const roomTags = clients.map(({ client }) => client.all('m')[0]!.room)
  t.same(roomTags, ['even', 'odd', 'even', 'odd', 'even', 'odd'])
})

t.test('with compression on, each socket gets its own (compressed) copy and the same messages', async (t) => {
  const { app, url } = await startServer({ compression: true })
  t.teardown(() => app.close())
  const clients = await connectMany(url, 3)
  t.teardown(() => clients.forEach(({ client }) => client.close()))
  for (const { client } of clients) t.match(client.ws.extensions, /^permessage-deflate/)
  for (const { connected } of clients) await app.roomcast.rooms.join(connected.data.connectionId, 'z')
  const { payload, count } = countingPayload()
  app.roomcast.rooms.to('z').emit('news', payload)
  t.equal(count(), 1)
  for (const { client } of clients) t.same(await client.next('news'), { event: 'news', data: { text: 'hello room', list: [1, 2, 3] }, room: 'z' })
})

t.test('frames to one socket within one turn arrive complete and in order', async (t) => {
  const { app, url } = await startServer({})
  t.teardown(() => app.close())
  const [{ client, connected }] = await connectMany(url, 1)
  t.teardown(() => client.close())
  const id = connected.data.connectionId as string
  const chunks = recordWrites(app.roomcast.connections.get(id)!)
  for (let n = 0; n < 200; n++) app.roomcast.connections.send(id, 'seq', n)
  await client.next((f) => f.event === 'seq' && f.data === 199)
  t.same(
    client.all('seq').map((f) => f.data),
    Array.from({ length: 200 }, (_, n) => n),
  )
  t.equal(chunks.length, 200, 'each frame written once, straight to the socket')
})
