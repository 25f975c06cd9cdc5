import t from 'tap'
import { MemoryHistory } from '../../plugin/adapter/memory-history.js'
import type { AdapterNode } from '../../plugin/hub/adapter.js'
import type { Delivery } from '../../plugin/hub/delivery.js'

/** A store on a clock the test moves, whose deliveries are recorded. */
function store() {
  const clock = { now: 1_000_000 }
  const delivered: Delivery[] = []
  const node = { deliver: (delivery: Delivery) => delivered.push(delivery) } as unknown as AdapterNode
  const history = new MemoryHistory(
    () => node,
    () => clock.now,
  )
  const publish = (room: string, n: number, policy = { size: 3, ttl: 1_000 }) =>
    history.publish(room, { target: { kind: 'rooms', rooms: [room] }, event: 'msg', data: JSON.stringify({ n }) }, policy)
  return { clock, delivered, history, publish }
}

t.test('size: only the last `size` publications are kept', async (t) => {
  const { history, publish, delivered } = store()
  for (let n = 1; n <= 5; n++) await publish('r', n)
  const page = await history.read('r', { limit: 100 }, { size: 3, ttl: 1_000 })
  t.same(
    page.publications.map((p) => p.offset),
    [3, 4, 5],
  )
  t.equal(page.oldest, 3)
  t.equal(page.position.offset, 5)
  t.same(
    delivered.map((d) => d.position?.offset),
    [1, 2, 3, 4, 5],
    'each publication is delivered with its position',
  )
})

t.test('ttl: old publications are not returned; a stream idle for ttl starts a new epoch and is freed', async (t) => {
  const { history, publish, clock } = store()
  const policy = { size: 100, ttl: 1_000 }
  const first = await publish('r', 1, policy)
  clock.now += 600
  await publish('r', 2, policy)
  clock.now += 600 // publication 1 is 1200 ms old, 2 is 600 ms old
  const page = await history.read('r', { limit: 100 }, policy)
  t.same(
    page.publications.map((p) => p.offset),
    [2],
  )
  t.equal(page.oldest, 2)
  t.equal(page.position.epoch, first.epoch, 'still the same stream')

  clock.now += 1_000 // nothing published for ttl: the stream is gone
  await publish('other', 1, policy)
  t.equal(history.size, 1, 'the idle stream was swept')
  const fresh = await history.read('r', { limit: 100 }, policy)
  t.not(fresh.position.epoch, first.epoch, 'a new epoch')
  t.equal(fresh.position.offset, 0)
  t.same(fresh.publications, [])
})

t.test('read: after, limit and reverse', async (t) => {
  const { history, publish } = store()
  const policy = { size: 10, ttl: 1_000 }
  for (let n = 1; n <= 6; n++) await publish('r', n, policy)
  const read = async (query: Parameters<typeof history.read>[1]) => (await history.read('r', query, policy)).publications.map((p) => p.offset)
  t.same(await read({ after: 2, limit: 2 }), [3, 4])
  t.same(await read({ after: 2, limit: 10, reverse: true }), [6, 5, 4, 3])
  t.same(await read({ limit: 2, reverse: true }), [6, 5])
  t.same(await read({ after: 6, limit: 10 }), [])
  t.same((await history.read('r', { limit: 1 }, policy)).publications[0], { offset: 1, event: 'msg', data: '{"n":1}' })
})
