import t from 'tap'
import { DeadlineQueue } from '../../plugin/hub/deadlines.js'
import { until } from '../helpers/server.js'

t.test('deadlines expire in order; a cancelled one never does, and its ticket stays valid across resets and compactions', async (t) => {
  const expired: number[] = []
  const queue = new DeadlineQueue<number>(20, (item) => expired.push(item))
  t.teardown(() => queue.clear())

  const tickets = [1, 2, 3, 4].map((item) => queue.add(item))
  t.same(tickets, [0, 1, 2, 3])
  queue.cancel(tickets[1]!)
  queue.cancel(tickets[1]!)
  await until(() => expired.length === 3, 2000, 'the first batch')
  t.same(expired, [1, 3, 4])
  queue.cancel(tickets[2]!) // already expired: nothing happens

  // The queue emptied and reset its arrays; tickets go on counting.
  const next = queue.add(5)
  t.equal(next, 4)
  queue.cancel(next)
  const kept = queue.add(6)
  await until(() => expired.length === 4, 2000, 'the second batch')
  t.same(expired.slice(3), [6])
  t.equal(kept, 5)

  // A long queue is compacted while items are pending: a ticket taken before still cancels its own item.
  const many = new DeadlineQueue<number>(30, (item) => expired.push(item))
  t.teardown(() => many.clear())
  const early: number[] = []
  for (let i = 0; i < 1500; i++) early.push(many.add(i))
  await new Promise((resolve) => setTimeout(resolve, 15))
  const late: number[] = []
  for (let i = 1500; i < 1600; i++) late.push(many.add(i))
  many.cancel(early[10]!)
  await until(() => expired.length === 4 + 1499, 3000, 'the first 1,500 but one')
  t.equal(many.size, 100, 'compacted to the 100 pending')
  many.cancel(late[50]!)
  await until(() => expired.length === 4 + 1598, 3000, 'every item but the two cancelled')
  const seen = new Set(expired.slice(4))
  t.notOk(seen.has(10))
  t.notOk(seen.has(1550))
  t.ok(seen.has(1549) && seen.has(1551) && seen.has(1599))
})
