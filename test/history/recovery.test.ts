import t from 'tap'
import { MemoryAdapter } from '../../plugin/adapter/memory.js'
import { connect } from '../helpers/server.js'
import { deliveries, historyServer, joined, publish } from './support.js'

t.test('publications to a history room resolve with consecutive positions, carried by the envelope', async (t) => {
  const { app, url } = await historyServer()
  t.teardown(() => app.close())
  const { client, ack } = await joined(url, { rooms: ['chat:a'] })
  t.teardown(() => client.close())
  const stream = ack.data.streams['chat:a']
  t.equal(stream.offset, 0, 'a new stream starts at 0')
  t.match(stream.epoch, /^.+$/)
  const positions = await publish(app, 'chat:a', 1, 3)
  t.same(
    positions.map((position) => position?.offset),
    [1, 2, 3],
  )
  t.ok(positions.every((position) => position?.epoch === stream.epoch))
  await client.next((frame) => frame.event === 'msg' && frame.data.n === 3)
  const frames = deliveries(client) as Array<{ offset?: number; epoch?: string; room?: string }>
  t.same(
    frames.map((frame) => [frame.room, frame.offset, frame.epoch]),
    [1, 2, 3].map((offset) => ['chat:a', offset, stream.epoch]),
  )
})

t.test('rooms without history: no position, no extra bytes, emit resolves with undefined', async (t) => {
  const { app, url } = await historyServer()
  t.teardown(() => app.close())
  const { client, ack } = await joined(url, { rooms: ['lobby'] })
  t.teardown(() => client.close())
  t.same(ack.data, { joined: ['lobby'], refused: [] }, 'no streams in the ack')
  const raw = new Promise<string>((resolve) => client.ws.once('message', (data) => resolve(data.toString())))
  t.equal(await app.roomcast.rooms.to('lobby').emit('msg', { n: 1 }), undefined)
  t.equal(await raw, '{"event":"msg","data":{"n":1},"room":"lobby"}')
})

t.test('recover: the whole gap is replayed before the ack, then live traffic', async (t) => {
  const { app, url } = await historyServer()
  t.teardown(() => app.close())
  const first = await joined(url, { rooms: ['chat:a'] })
  await publish(app, 'chat:a', 1, 2)
  await first.client.next((frame) => frame.event === 'msg' && frame.data.n === 2)
  const last = deliveries(first.client).at(-1) as { offset: number; epoch: string }
  first.client.close()
  await publish(app, 'chat:a', 3, 3) // offsets 3, 4, 5, while away

  const { client } = await connect(url)
  t.teardown(() => client.close())
  const ack = await client.request('join', { rooms: ['chat:a'], recover: { 'chat:a': { epoch: last.epoch, offset: last.offset } } })
  t.same(ack.data.streams['chat:a'], { epoch: last.epoch, offset: 5, recovered: true, replayed: 3 })
  const before = client.frames.slice(0, client.frames.indexOf(ack))
  t.same(
    before.filter((frame) => frame.event === 'msg').map((frame) => [frame.data.n, (frame as { offset?: number }).offset]),
    [
      [3, 3],
      [4, 4],
      [5, 5],
    ],
    'replayed in order, before the ack',
  )
  await publish(app, 'chat:a', 6, 1)
  const live = await client.next((frame) => frame.event === 'msg' && frame.data.n === 6)
  t.equal((live as { offset?: number }).offset, 6)
})

t.test('recover fails honestly: epoch_changed, too_far_behind, no_history', async (t) => {
  const { app, url } = await historyServer({ history: [{ match: 'chat:*', size: 2, ttl: 60_000 }] })
  t.teardown(() => app.close())
  const positions = await publish(app, 'chat:a', 1, 5)
  const epoch = positions[0]!.epoch
  const { client } = await connect(url)
  t.teardown(() => client.close())
  const ack = await client.request('join', {
    rooms: ['chat:a', 'chat:b', 'lobby'],
    recover: { 'chat:a': { epoch, offset: 1 }, 'chat:b': { epoch: 'gone', offset: 7 }, lobby: { epoch, offset: 1 } },
  })
  t.equal(ack.event, 'ack')
  t.same(ack.data.streams['chat:a'], { epoch, offset: 5, recovered: false, reason: 'too_far_behind', replayed: 0 }, 'only 4 and 5 are kept')
  t.same(ack.data.streams['chat:b'].recovered, false)
  t.equal(ack.data.streams['chat:b'].reason, 'epoch_changed')
  t.equal(ack.data.streams['chat:b'].offset, 0)
  t.same(ack.data.streams.lobby, { epoch: '', offset: 0, recovered: false, reason: 'no_history' })
  t.equal(deliveries(client).length, 0, 'nothing replayed')

  const near = await joined(url, { rooms: ['chat:a'], recover: { 'chat:a': { epoch, offset: 3 } } })
  t.teardown(() => near.client.close())
  t.same(near.ack.data.streams['chat:a'], { epoch, offset: 5, recovered: true, replayed: 2 }, 'a gap the history still holds is whole')
})

t.test('rewind: the last N publications before the ack', async (t) => {
  const { app, url } = await historyServer()
  t.teardown(() => app.close())
  await publish(app, 'chat:a', 1, 5)
  const { client, ack } = await joined(url, { rooms: ['chat:a', 'lobby'], rewind: 2 })
  t.teardown(() => client.close())
  t.equal(ack.data.streams['chat:a'].offset, 5)
  t.equal(ack.data.streams['chat:a'].replayed, 2)
  t.same(
    deliveries(client).map((frame) => frame.data.n),
    [4, 5],
  )
  t.notOk('lobby' in ack.data.streams, 'rooms without history have no stream')
})

t.test('registration fails when history is set and the adapter has no history store', async (t) => {
  const bare = new MemoryAdapter()
  Object.defineProperty(bare, 'history', { value: undefined })
  await t.rejects(historyServer({ adapter: bare }), /history option needs an adapter with a history store/)
  await t.rejects(historyServer({ history: [{ match: 'x', size: 0, ttl: 1 }] }), /history\[0\]\.size/)
  await t.rejects(historyServer({ history: [{ match: 'x', size: 1, ttl: 0 }] }), /history\[0\]\.ttl/)
})
