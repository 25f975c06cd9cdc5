import t from 'tap'
import { clientDefaults } from '../../client/index.js'
import { Backoff } from '../../client/backoff.js'
import { ListenerRegistry } from '../../client/emitter.js'
import { Outbox } from '../../client/outbox.js'

t.test('backoff: full jitter under an exponential ceiling, capped, reset', async (t) => {
  const { minDelay, maxDelay, factor } = clientDefaults.reconnect
  t.same([minDelay, maxDelay, factor], [500, 20_000, 2], 'documented defaults')
  const highest = new Backoff({ minDelay, maxDelay, factor }, () => 0.999999)
  const delays = Array.from({ length: 8 }, () => highest.next())
  t.same(delays, [499, 999, 1999, 3999, 7999, 15_999, 19_999, 19_999])
  t.equal(highest.attempt, 8)
  highest.reset()
  t.equal(highest.attempt, 0)
  t.equal(highest.next(), 499)
  const lowest = new Backoff({ minDelay, maxDelay, factor }, () => 0)
  t.same([lowest.next(), lowest.next()], [0, 0], 'full jitter reaches down to zero')
  const real = new Backoff({ minDelay: 100, maxDelay: 1000, factor: 3 })
  for (let attempt = 0; attempt < 20; attempt++) {
    const ceiling = real.ceiling(attempt)
    const delay = real.next()
    if (delay < 0 || delay > ceiling) t.fail(`attempt ${attempt}: ${delay} outside [0, ${ceiling}]`)
  }
  t.equal(real.ceiling(19), 1000)
})

t.test('offline queue: bounded, ordered, drops a timed-out request', async (t) => {
  const outbox = new Outbox(2)
  t.equal(outbox.push({ event: 'a', data: 1 }), true)
  t.equal(outbox.push({ event: 'b', data: 2, id: 7 }), true)
  t.equal(outbox.push({ event: 'c', data: 3 }), false, 'full: the newest is refused')
  outbox.drop(7)
  t.equal(outbox.size, 1)
  t.equal(outbox.push({ event: 'd', data: 4 }), true)
  t.same(outbox.take(), [
    { event: 'a', data: 1 },
    { event: 'd', data: 4 },
  ])
  t.equal(outbox.size, 0)
  t.equal(new Outbox(0).push({ event: 'x', data: null }), false, 'size 0 refuses everything')
})

t.test('listener registry: order, once, off during emit, isolated failures', async (t) => {
  const failures: string[] = []
  const registry = new ListenerRegistry((error, event) => failures.push(`${event}:${(error as Error).message}`))
  const calls: string[] = []
  const second = (): void => {
    calls.push('second')
  }
  registry.add(
    'x',
    () => {
      calls.push('first')
      registry.remove('x', second)
    },
    false,
  )
  registry.add('x', second, false)
  registry.add(
    'x',
    () => {
      throw new Error('boom')
    },
    true,
  )
  registry.add('x', (value: never) => calls.push(`last:${String(value)}`), false)
  t.equal(registry.emit('x', 1), true)
  t.same(calls, ['first', 'second', 'last:1'], 'the list as it was when the emit began')
  t.same(failures, ['x:boom'])
  calls.length = 0
  registry.emit('x', 2)
  t.same(calls, ['first', 'last:2'], 'once ran once, removed stays removed')
  t.equal(registry.count('x'), 2)
  registry.remove('x')
  t.equal(registry.emit('x', 3), false)
})
