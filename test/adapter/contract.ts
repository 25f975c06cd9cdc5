// The adapter contract: what the hub relies on from any adapter (the ports in plugin/hub/adapter.ts),
// written once and run against every adapter the package ships.
import type { Test } from 'tap'
import type { FastifyBaseLogger } from 'fastify'
import type { Adapter, AdapterNode } from '../../plugin/hub/adapter.js'
import type { Delivery } from '../../plugin/hub/delivery.js'
import type { Query, QueryResult } from '../../plugin/hub/queries.js'
import { until } from '../helpers/server.js'

const silent = {
  info() {},
  warn() {},
  error() {},
  debug() {},
  trace() {},
  fatal() {},
  child: () => silent,
  level: 'silent',
  silent() {},
} as unknown as FastifyBaseLogger

/** A node that records its deliveries and answers `roomSize` with its own count. */
export class RecordingNode implements AdapterNode {
  readonly log = silent
  readonly delivered: Delivery[] = []
  constructor(
    readonly nodeId: string,
    readonly roomSize = 1,
  ) {}

  deliver(delivery: Delivery): void {
    this.delivered.push(delivery)
  }

  answer<Q extends Query>(query: Q): QueryResult<Q> {
    if (query.type !== 'roomSize') throw new Error(`unexpected query ${query.type}`)
    return this.roomSize as QueryResult<Q>
  }
}

export interface AdapterUnderTest {
  /** A fresh adapter; a cluster adapter's instances made here share one cluster. */
  make(t: Test): Adapter | Promise<Adapter>
  /** Whether two instances form a cluster (deliveries and queries cross between them). */
  clustered: boolean
}

async function attached(t: Test, subject: AdapterUnderTest, nodeId: string, roomSize = 1): Promise<{ adapter: Adapter; node: RecordingNode }> {
  const adapter = await subject.make(t)
  const node = new RecordingNode(nodeId, roomSize)
  await adapter.attach(node)
  t.teardown(() => adapter.close())
  return { adapter, node }
}

export function adapterContract(t: Test, name: string, subject: AdapterUnderTest): void {
  t.test(`${name}: a publish reaches this node's own connections at once`, async (t) => {
    const { adapter, node } = await attached(t, subject, 'a')
    adapter.watch('room', 'lobby')
    const delivery: Delivery = { target: { kind: 'rooms', rooms: ['lobby'] }, event: 'chat', data: '{"text":"hi"}' }
    adapter.publish(delivery)
    t.same(node.delivered, [delivery], 'delivered locally, synchronously')
  })

  t.test(`${name}: a query is answered by this node, and says who answered`, async (t) => {
    const { adapter } = await attached(t, subject, 'a', 3)
    const answer = await adapter.query({ type: 'roomSize', room: 'lobby' })
    t.equal(answer.value, 3)
    t.same(answer.answered, ['a'])
    t.same(answer.missing, [])
  })

  t.test(`${name}: presence transitions resolve true for a user's first join and last leave`, async (t) => {
    const { adapter } = await attached(t, subject, 'a')
    t.equal(await adapter.trackPresence('lobby', 'ann', 'join'), true)
    t.equal(await adapter.trackPresence('lobby', 'ann', 'leave'), true)
  })

  t.test(`${name}: the shared store keeps values until their TTL runs out`, async (t) => {
    const { adapter } = await attached(t, subject, 'a')
    const store = adapter.store
    if (store === undefined) throw new Error(`${name} offers no shared store`)
    t.equal(await store.get('contract:missing'), undefined)
    await store.set('contract:kept', 'one', Infinity)
    await store.set('contract:kept', 'two', Infinity)
    t.equal(await store.get('contract:kept'), 'two', 'the last value wins')
    await store.set('contract:short', 'gone soon', 1)
    await until(async () => (await store.get('contract:short')) === undefined, 5000, 'the value expires')
  })

  t.test(`${name}: the shared store counts fixed windows; a refused request takes nothing`, async (t) => {
    const { adapter } = await attached(t, subject, 'a')
    const store = adapter.store!
    t.match(await store.consume('contract:rate', 2, 3, 60_000), { allowed: true, remaining: 1 })
    t.match(await store.consume('contract:rate', 2, 3, 60_000), { allowed: false, remaining: 1 })
    t.match(await store.consume('contract:rate', 1, 3, 60_000), { allowed: true, remaining: 0 })
    const decision = await store.consume('contract:rate', 1, 3, 60_000)
    t.equal(decision.allowed, false)
    t.ok(decision.resetMs > 0 && decision.resetMs <= 60_000, 'the window resets within its length')
  })

  t.test(`${name}: a history room's publications get consecutive offsets in one epoch, are delivered with them, and read back`, async (t) => {
    const { adapter, node } = await attached(t, subject, 'a')
    const history = adapter.history
    if (history === undefined) throw new Error(`${name} keeps no room streams`)
    const policy = { size: 3, ttl: 60_000 }
    const empty = await history.read('contract:chat', { limit: 10 }, policy)
    t.same({ offset: empty.position.offset, oldest: empty.oldest, publications: empty.publications }, { offset: 0, oldest: 1, publications: [] })
    const positions = []
    for (let n = 1; n <= 4; n++) {
      const delivery: Delivery = { target: { kind: 'rooms', rooms: ['contract:chat'] }, event: 'chat', data: String(n) }
      positions.push(await history.publish('contract:chat', delivery, policy))
      t.same(delivery.position, positions[n - 1], 'the delivery carries its position')
    }
    t.same(
      positions.map((p) => p.offset),
      [1, 2, 3, 4],
    )
    t.same(new Set(positions.map((p) => p.epoch)), new Set([empty.position.epoch]), 'the epoch a read created is kept')
    t.same(
      node.delivered.map((d) => [d.data, d.position?.offset]),
      [
        ['1', 1],
        ['2', 2],
        ['3', 3],
        ['4', 4],
      ],
      'delivered locally once each, with the position',
    )
    const page = await history.read('contract:chat', { limit: 10 }, policy)
    t.same(page.position, positions[3])
    t.equal(page.oldest, 2, 'at most size kept')
    t.same(page.publications, [
      { offset: 2, event: 'chat', data: '2' },
      { offset: 3, event: 'chat', data: '3' },
      { offset: 4, event: 'chat', data: '4' },
    ])
    t.same(
      (await history.read('contract:chat', { after: 2, limit: 1 }, policy)).publications.map((p) => p.offset),
      [3],
      'after and limit',
    )
    t.same(
      (await history.read('contract:chat', { limit: 2, reverse: true }, policy)).publications.map((p) => p.offset),
      [4, 3],
      'reverse: the newest first',
    )
  })

  t.test(`${name}: a history stream forgets it all TTL after its last publication: a new epoch`, async (t) => {
    const { adapter } = await attached(t, subject, 'a')
    const history = adapter.history!
    const policy = { size: 10, ttl: 50 }
    const delivery = (): Delivery => ({ target: { kind: 'rooms', rooms: ['contract:brief'] }, event: 'chat' })
    const before = await history.publish('contract:brief', delivery(), policy)
    await until(async () => (await history.read('contract:brief', { limit: 10 }, policy)).position.epoch !== before.epoch, 5000, 'the stream expires')
    const after = await history.publish('contract:brief', delivery(), policy)
    t.not(after.epoch, before.epoch)
    t.equal(after.offset, 1)
  })

  if (!subject.clustered) return

  t.test(`${name}: deliveries and queries cross to another node, which shares the store`, async (t) => {
    const a = await attached(t, subject, 'a', 1)
    const b = await attached(t, subject, 'b', 2)
    b.adapter.watch('room', 'lobby')
    await until(async () => (await a.adapter.query({ type: 'roomSize', room: 'lobby' })).answered.length === 2, 10_000, 'both nodes answer')
    t.equal((await a.adapter.query({ type: 'roomSize', room: 'lobby' })).value, 3, 'answers are merged')
    const delivery: Delivery = { target: { kind: 'rooms', rooms: ['lobby'] }, event: 'chat', data: '1' }
    // The subscription may still be settling: publish until the other node hears one.
    await until(
      () => {
        a.adapter.publish(delivery)
        return b.node.delivered.length > 0
      },
      10_000,
      'the other node receives the delivery',
    )
    t.same(b.node.delivered[0], delivery)
    await a.adapter.store!.set('contract:shared', 'from a', Infinity)
    t.equal(await b.adapter.store!.get('contract:shared'), 'from a')

    // Room streams are shared: the other node continues the stream and receives the position.
    const policy = { size: 10, ttl: 60_000 }
    const first = await a.adapter.history!.publish('lobby', { ...delivery, data: '2' }, policy)
    const second = await b.adapter.history!.publish('lobby', { ...delivery, data: '3' }, policy)
    t.same(second, { epoch: first.epoch, offset: first.offset + 1 })
    await until(() => b.node.delivered.some((d) => d.position?.offset === first.offset), 10_000, 'the position crosses')
  })
}
