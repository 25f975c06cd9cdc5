import t from 'tap'
import { connect } from '../helpers/server.js'
import { historyServer, publish } from './support.js'

t.test('rooms.history: since, limit, reverse, completeness, data parsed', async (t) => {
  const { app } = await historyServer({ history: [{ match: 'chat:*', size: 5, ttl: 60_000 }] })
  t.teardown(() => app.close())
  const positions = await publish(app, 'chat:a', 1, 8) // 4..8 kept
  const epoch = positions[0]!.epoch
  const all = await app.roomcast.rooms.history('chat:a')
  t.same(all, { epoch, offset: 8, complete: true, publications: [4, 5, 6, 7, 8].map((n) => ({ offset: n, event: 'msg', data: { n } })) })
  const since = await app.roomcast.rooms.history('chat:a', { since: { epoch, offset: 6 } })
  t.same(
    since.publications.map((p) => p.offset),
    [7, 8],
  )
  t.equal(since.complete, true)
  const newest = await app.roomcast.rooms.history('chat:a', { limit: 2, reverse: true })
  t.same(
    newest.publications.map((p) => p.offset),
    [8, 7],
  )
  const tooOld = await app.roomcast.rooms.history('chat:a', { since: { epoch, offset: 1 } })
  t.equal(tooOld.complete, false, '2 and 3 are gone')
  t.same(
    tooOld.publications.map((p) => p.offset),
    [4, 5, 6, 7, 8],
  )
  const otherEpoch = await app.roomcast.rooms.history('chat:a', { since: { epoch: 'other', offset: 7 } })
  t.equal(otherEpoch.complete, false)
  t.equal(otherEpoch.publications.length, 5)
  await t.rejects(app.roomcast.rooms.history('lobby'), { code: 'no_history' })
})

t.test('the history request: members and authorized clients read, others are refused', async (t) => {
  const { app, url } = await historyServer({
    authenticate: (data) => ({ userId: String((data as { user: string }).user) }),
    authorizeJoin: ({ connection, rooms }) => (connection.userId === 'alice' ? rooms : rooms.filter((room) => room !== 'chat:secret')),
  })
  t.teardown(() => app.close())
  const positions = await publish(app, 'chat:secret', 1, 3)
  const epoch = positions[0]!.epoch

  const alice = await connect(url, { user: 'alice' })
  const bob = await connect(url, { user: 'bob' })
  t.teardown(() => [alice.client, bob.client].forEach((client) => client.close()))
  const read = await alice.client.request('history', { room: 'chat:secret', since: { epoch, offset: 1 }, limit: 1 })
  t.same(read.data, { epoch, offset: 3, publications: [{ offset: 2, event: 'msg', data: { n: 2 } }], complete: true })
  const refused = await bob.client.request('history', { room: 'chat:secret' })
  t.equal(refused.event, 'error')
  t.equal(refused.data.code, 'join_refused')
  const noHistory = await bob.client.request('history', { room: 'lobby' })
  t.equal(noHistory.data.code, 'no_history')
  const bad = await bob.client.request('history', { room: 'chat:x', limit: 0 })
  t.equal(bad.data.code, 'invalid_data')

  // Rooms the connection is in are readable without asking authorizeJoin again.
  await bob.client.request('join', { rooms: ['chat:open'] })
  await app.roomcast.rooms.to('chat:open').emit('msg', { n: 1 })
  const own = await bob.client.request('history', { room: 'chat:open' })
  t.same(
    own.data.publications.map((p: { data: unknown }) => p.data),
    [{ n: 1 }],
  )
})
