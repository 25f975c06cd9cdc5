import t from 'tap'
import type { MessageMeta } from '../../client/index.js'
import type { RoomcastServer } from '../../plugin/index.js'
import { startTestServer, testClient, type TestEvents } from '../helpers/client.js'
import { until } from '../helpers/server.js'

async function serverWithFeed(t: Parameters<Parameters<typeof t.test>[1]>[0], published: number) {
  const server = await startTestServer({ history: [{ match: 'feed*', size: 100, ttl: 60_000 }] })
  t.teardown(() => server.close())
  const rooms = (server.app.roomcast as unknown as RoomcastServer<TestEvents>).rooms
  for (let n = 1; n <= published; n++) await rooms.to('feed').emit('said', { from: 'server', text: `m${n}` })
  return { server, rooms }
}

t.test('join with rewind: a late joiner gets the last N publications, in order, before the join resolves', async (t) => {
  const { server } = await serverWithFeed(t, 5)
  const client = testClient(server.url)
  t.teardown(() => client.close())
  const received: Array<[string, MessageMeta]> = []
  client.on('said', (message, meta) => received.push([message.text, meta]))
  await client.ready()
  const reply = await client.join('feed', { rewind: 3 })
  t.same(
    received.map(([text, meta]) => [text, meta.room, meta.offset]),
    [
      ['m3', 'feed', 3],
      ['m4', 'feed', 4],
      ['m5', 'feed', 5],
    ],
  )
  t.ok(
    received.every(([, meta]) => typeof meta.epoch === 'string' && meta.epoch.length > 0),
    'each carries the stream epoch',
  )
  t.match(reply, { joined: ['feed'], refused: [], streams: { feed: { offset: 5, replayed: 3 } } })

  // Joining again with a rewind replays what the client has seen: duplicates, dropped.
  await client.join('feed', { rewind: 5 })
  t.equal(received.length, 3, 'nothing delivered twice')
})

t.test('a plain join reports the stream position; the old signature keeps working', async (t) => {
  const { server, rooms } = await serverWithFeed(t, 2)
  const client = testClient(server.url)
  t.teardown(() => client.close())
  await client.ready()
  const reply = await client.join(['feed', 'plain'], { timeout: 2000 })
  t.match(reply, { joined: ['feed', 'plain'], streams: { feed: { offset: 2 } } })
  t.notOk(reply.streams && 'plain' in reply.streams, 'a room without history has no stream')
  const metas: MessageMeta[] = []
  client.on('said', (_message, meta) => metas.push(meta))
  await rooms.to('feed').emit('said', { from: 'server', text: 'live' })
  await rooms.to('plain').emit('said', { from: 'server', text: 'plain' })
  await until(() => metas.length === 2)
  t.match(metas[0], { room: 'feed', offset: 3 })
  t.same(metas[1], { room: 'plain' }, 'no position on a room without history')
})

t.test('client.history: typed publications, since, limit, reverse', async (t) => {
  const { server } = await serverWithFeed(t, 5)
  const client = testClient(server.url)
  t.teardown(() => client.close())
  await client.ready()
  await client.join('feed')

  const all = await client.history('feed')
  t.match(all, { offset: 5, complete: true })
  t.same(
    all.publications.map((publication) => [publication.offset, publication.event, publication.data.text]),
    [1, 2, 3, 4, 5].map((n) => [n, 'said', `m${n}`]),
  )
  const page = await client.history('feed', { since: { epoch: all.epoch, offset: 2 }, limit: 2 })
  t.same(
    page.publications.map((publication) => publication.offset),
    [3, 4],
  )
  const newest = await client.history('feed', { reverse: true, limit: 2 })
  t.same(
    newest.publications.map((publication) => publication.offset),
    [5, 4],
  )
  const elsewhere = await client.history('feed', { since: { epoch: 'another-epoch', offset: 2 } })
  t.equal(elsewhere.complete, false, 'a position in another epoch: incomplete')
})

t.test('client.history of a room the client may not join is refused with the server code', async (t) => {
  const { server } = await serverWithFeed(t, 1)
  await server.app.close()
  const guarded = await startTestServer({
    history: [{ match: 'feed*', size: 100, ttl: 60_000 }],
    authorizeJoin: ({ rooms }) => rooms.filter((room) => room !== 'feed-secret'),
  })
  t.teardown(() => guarded.close())
  const client = testClient(guarded.url)
  t.teardown(() => client.close())
  await client.ready()
  await t.rejects(client.history('feed-secret'), { name: 'RoomcastError' })
})
