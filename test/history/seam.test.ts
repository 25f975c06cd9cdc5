import t from 'tap'
import { MemoryAdapter } from '../../plugin/adapter/memory.js'
import type { HistoryPage } from '../../plugin/index.js'
import { connect, type Frame } from '../helpers/server.js'
import { deliveries, historyServer, publish } from './support.js'

/** The offsets of a client's `msg` deliveries, in arrival order. */
const offsetsOf = (frames: Frame[]): number[] => frames.map((frame) => (frame as { offset: number }).offset)

t.test('a publication racing the replay is delivered once, in order, after the ack', async (t) => {
  const adapter = new MemoryAdapter()
  const { app, url } = await historyServer({ adapter })
  t.teardown(() => app.close())
  const positions = await publish(app, 'chat:a', 1, 2)
  const epoch = positions[0]!.epoch

  // The store's read publishes once before reading (so the replay holds it) and once after (so
  // only the live path has it): the seam on both sides, deterministically.
  const history = adapter.history
  const read = history.read.bind(history)
  let racing = true
  history.read = async (room, query, policy): Promise<HistoryPage> => {
    if (!racing) return read(room, query, policy)
    racing = false
    await app.roomcast.rooms.to(room).emit('msg', { n: 'before-read' })
    const page = await read(room, query, policy)
    await app.roomcast.rooms.to(room).emit('msg', { n: 'after-read' })
    return page
  }

  const { client } = await connect(url)
  t.teardown(() => client.close())
  const ack = await client.request('join', { rooms: ['chat:a'], recover: { 'chat:a': { epoch, offset: 1 } } })
  t.same(ack.data.streams['chat:a'], { epoch, offset: 3, recovered: true, replayed: 2 })
  await client.next((frame) => frame.event === 'msg' && frame.data.n === 'after-read')
  await app.roomcast.rooms.to('chat:a').emit('msg', { n: 'live' })
  await client.next((frame) => frame.event === 'msg' && frame.data.n === 'live')
  const received = deliveries(client)
  t.same(offsetsOf(received), [2, 3, 4, 5], 'no gap, no duplicate')
  t.same(
    received.map((frame) => frame.data.n),
    [2, 'before-read', 'after-read', 'live'],
  )
  const ackIndex = client.frames.indexOf(ack)
  t.ok(client.frames.indexOf(received[1]!) < ackIndex, 'the replay comes before the ack')
  t.ok(client.frames.indexOf(received[2]!) > ackIndex, 'what was held comes after it')
})

t.test('many publications while recovering: offsets strictly consecutive, none twice', async (t) => {
  const { app, url } = await historyServer({ history: [{ match: 'chat:*', size: 10_000, ttl: 60_000 }] })
  t.teardown(() => app.close())
  const positions = await publish(app, 'chat:a', 1, 50)
  const epoch = positions[0]!.epoch
  const TOTAL = 400
  let sent = 50
  const publisher = (async () => {
    while (sent < TOTAL) {
      for (let i = 0; i < 5 && sent < TOTAL; i++) void app.roomcast.rooms.to('chat:a').emit('msg', { n: ++sent })
      await new Promise((resolve) => setImmediate(resolve))
    }
  })()
  const clients = await Promise.all([10, 20, 30].map(() => connect(url)))
  t.teardown(() => clients.forEach(({ client }) => client.close()))
  const acks = await Promise.all(
    clients.map(({ client }, i) => client.request('join', { rooms: ['chat:a'], recover: { 'chat:a': { epoch, offset: (i + 1) * 10 } } })),
  )
  await publisher
  for (const [i, { client }] of clients.entries()) {
    t.equal(acks[i]!.data.streams['chat:a'].recovered, true)
    await client.next((frame) => frame.event === 'msg' && frame.data.n === TOTAL)
    const offsets = offsetsOf(deliveries(client))
    const from = (i + 1) * 10 + 1
    t.same(
      offsets,
      Array.from({ length: TOTAL - from + 1 }, (_, k) => from + k),
      `client ${i}: ${from}..${TOTAL}, each once, in order`,
    )
  }
})
