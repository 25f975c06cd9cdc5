import type { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import type { Delivery } from '../../plugin/hub/delivery.js'
import type { HistoryPolicy } from '../../plugin/hub/history.js'
import { ErrorCode, RedisAdapter, RoomcastError } from '../../plugin/index.js'
import { RecordingNode } from '../adapter/contract.js'
import { startRedis, startRedisCluster, uniquePrefix, type RedisServer } from '../helpers/redis.js'
import { until } from '../helpers/server.js'
import type { RedisClient } from '../../plugin/adapter/redis/connection.js'

/**
 * Room streams on Redis: nodes share one stream per room, each publication is one script (one
 * round trip) that stores it and publishes it with its position, and a stream that Redis lost
 * starts over in a new epoch.
 */

const policy: HistoryPolicy = { size: 1_000, ttl: 60_000 }

interface TestNode {
  adapter: RedisAdapter
  node: RecordingNode
}

async function startNode(t: Test, redis: RedisClient, keyPrefix: string, nodeId: string): Promise<TestNode> {
  // A long heartbeat: no background command lands in the command counts of a test.
  const adapter = new RedisAdapter({ redis, keyPrefix, heartbeatInterval: 60_000, requestTimeout: 1_000 })
  const node = new RecordingNode(nodeId)
  await adapter.attach(node)
  t.teardown(() => adapter.close())
  return { adapter, node }
}

async function twoNodes(t: Test, redis: RedisServer): Promise<[TestNode, TestNode]> {
  const keyPrefix = uniquePrefix('history')
  return [await startNode(t, redis.client(), keyPrefix, 'a'), await startNode(t, redis.client(), keyPrefix, 'b')]
}

function chat(room: string, n: number): Delivery {
  return { target: { kind: 'rooms', rooms: [room] }, event: 'chat', data: JSON.stringify({ n }) }
}

/** Calls per command since the last CONFIG RESETSTAT. */
async function commandCalls(probe: Redis): Promise<Record<string, number>> {
  const calls: Record<string, number> = {}
  for (const line of String(await probe.info('commandstats')).split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line)
    if (match !== null) calls[match[1]!] = Number(match[2])
  }
  return calls
}

t.test('nodes share a stream: positions on every node, own echoes skipped, reads in order', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const [a, b] = await twoNodes(t, redis)
  a.adapter.watch('room', 'chat')
  b.adapter.watch('room', 'chat')
  await Promise.all([a.adapter.settled(), b.adapter.settled()])

  const first = await a.adapter.history.publish('chat', chat('chat', 1), policy)
  t.equal(first.offset, 1)
  t.match(first.epoch, /^[\w-]+$/, 'a random epoch')
  const second = await b.adapter.history.publish('chat', chat('chat', 2), policy)
  t.same(second, { epoch: first.epoch, offset: 2 }, 'the other node continues the same stream')

  await until(() => a.node.delivered.length === 2 && b.node.delivered.length === 2, 5_000, 'both nodes get both')
  for (const node of [a.node, b.node]) {
    t.same(
      node.delivered.map((d) => [d.data, d.position]),
      [
        ['{"n":1}', first],
        ['{"n":2}', second],
      ],
      `${node.nodeId} delivers each once, with its position`,
    )
  }
  t.equal(a.adapter.stats.ownEchoes, 1, 'a skipped its own bus copy')

  const page = await b.adapter.history.read('chat', { limit: 10 }, policy)
  t.same(page, {
    position: second,
    oldest: 1,
    publications: [
      { offset: 1, event: 'chat', data: '{"n":1}' },
      { offset: 2, event: 'chat', data: '{"n":2}' },
    ],
  })
  const newest = await a.adapter.history.read('chat', { limit: 1, reverse: true }, policy)
  t.same(
    newest.publications.map((p) => p.offset),
    [2],
    'reverse: newest first',
  )
  const after = await a.adapter.history.read('chat', { after: 1, limit: 10 }, policy)
  t.same(
    after.publications.map((p) => p.offset),
    [2],
    'after an offset',
  )
  const noData = await a.adapter.history.publish('chat', { target: { kind: 'rooms', rooms: ['chat'] }, event: 'ping' }, policy)
  t.same(
    (await a.adapter.history.read('chat', { after: 2, limit: 10 }, policy)).publications,
    [{ offset: noData.offset, event: 'ping' }],
    'no data stays absent',
  )

  const empty = await a.adapter.history.read('quiet', { limit: 10 }, policy)
  t.same({ offset: empty.position.offset, oldest: empty.oldest, publications: empty.publications }, { offset: 0, oldest: 1, publications: [] })
  const firstInQuiet = await b.adapter.history.publish('quiet', chat('quiet', 1), policy)
  t.same(firstInQuiet, { epoch: empty.position.epoch, offset: 1 }, 'a read creates the epoch the next publication keeps')
})

t.test('offsets strictly increase under concurrent publishes from both nodes', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const [a, b] = await twoNodes(t, redis)
  a.adapter.watch('room', 'race')
  b.adapter.watch('room', 'race')
  await Promise.all([a.adapter.settled(), b.adapter.settled()])
  const count = 100
  const positions = await Promise.all(Array.from({ length: count }, (_, n) => (n % 2 === 0 ? a : b).adapter.history.publish('race', chat('race', n), policy)))
  t.same(
    positions.map((p) => p.offset).sort((x, y) => x - y),
    Array.from({ length: count }, (_, n) => n + 1),
    'every offset once',
  )
  t.equal(new Set(positions.map((p) => p.epoch)).size, 1, 'one epoch')
  // Each node's own publications are delivered in the order Redis answered, the other node's in bus order.
  for (const side of [a, b]) {
    const mine = side.node.delivered.map((d) => d.position!.offset)
    t.same(mine.length, count / 2, `${side.node.nodeId} delivered its own at once`)
    t.ok(
      mine.every((offset, i) => i === 0 || offset > mine[i - 1]!),
      'own deliveries in offset order',
    )
  }
  await until(() => a.node.delivered.length === count && b.node.delivered.length === count, 5_000, 'all crossed')
  const page = await a.adapter.history.read('race', { limit: 1_000 }, policy)
  t.same(
    page.publications.map((p) => p.offset),
    Array.from({ length: count }, (_, n) => n + 1),
  )
})

t.test('size and TTL bound a stream; an expired stream starts a new epoch', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const [a] = await twoNodes(t, redis)
  const small: HistoryPolicy = { size: 3, ttl: 60_000 }
  for (let n = 1; n <= 5; n++) await a.adapter.history.publish('small', chat('small', n), small)
  const page = await a.adapter.history.read('small', { limit: 10 }, small)
  t.same(
    page.publications.map((p) => p.offset),
    [3, 4, 5],
    'at most size kept',
  )
  t.equal(page.oldest, 3)
  t.equal(page.position.offset, 5)
  const sinceGone = await a.adapter.history.read('small', { after: 1, limit: 10 }, small)
  t.same(
    sinceGone.publications.map((p) => p.offset),
    [3, 4, 5],
    'a read after a trimmed offset starts at the oldest kept',
  )

  // Publications older than the TTL are not returned (read with a TTL of 1 ms).
  const first = await a.adapter.history.publish('aging', chat('aging', 1), policy)
  await until(async () => (await a.adapter.history.read('aging', { limit: 10 }, { size: 1_000, ttl: 1 })).publications.length === 0, 5_000, 'aged out')
  const aged = await a.adapter.history.read('aging', { limit: 10 }, { size: 1_000, ttl: 1 })
  t.same({ position: aged.position, oldest: aged.oldest }, { position: first, oldest: 2 }, 'the position stays, nothing is kept')
  const fresh = await a.adapter.history.publish('aging', chat('aging', 2), policy)
  const mixed = await a.adapter.history.read('aging', { limit: 10 }, { size: 1_000, ttl: 60_000 })
  t.same(
    mixed.publications.map((p) => p.offset),
    [1, 2],
  )
  t.equal(fresh.offset, 2)

  // The whole stream expires TTL after its last publication: the next one starts a new epoch.
  const short: HistoryPolicy = { size: 10, ttl: 100 }
  const before = await a.adapter.history.publish('brief', chat('brief', 1), short)
  const probe = redis.client()
  await until(async () => (await probe.keys(`*${a.adapter.keyPrefix}*brief*`)).length === 0, 5_000, 'the stream keys expire')
  const after = await a.adapter.history.publish('brief', chat('brief', 2), short)
  t.not(after.epoch, before.epoch, 'a new epoch')
  t.equal(after.offset, 1)
})

t.test('a Redis restarted without persistence: the next publication starts a new epoch', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const [a] = await twoNodes(t, redis)
  await a.adapter.history.publish('chat', chat('chat', 1), policy)
  const before = await a.adapter.history.publish('chat', chat('chat', 2), policy)
  await redis.kill()
  await redis.restart()
  await until(() => a.adapter.stats.connected, 10_000, 'the adapter reconnects')
  const after = await a.adapter.history.publish('chat', chat('chat', 3), policy)
  t.not(after.epoch, before.epoch, 'the epoch changed')
  t.equal(after.offset, 1, 'offsets start over')
  const page = await a.adapter.history.read('chat', { after: before.offset, limit: 10 }, policy)
  t.equal(page.position.epoch, after.epoch, 'a recovery from the old epoch sees another one')
})

t.test('Redis down: publish rejects with publish_failed and delivers nothing; read rejects', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const [a] = await twoNodes(t, redis)
  a.adapter.watch('room', 'chat')
  await redis.kill()
  await until(() => !a.adapter.stats.connected, 5_000, 'the adapter sees Redis gone')
  const error = await a.adapter.history.publish('chat', chat('chat', 1), policy).then(
    () => undefined,
    (err: unknown) => err,
  )
  t.ok(error instanceof RoomcastError, 'a RoomcastError')
  t.equal((error as RoomcastError).code, ErrorCode.PublishFailed)
  t.match((error as RoomcastError).message, /nobody received it/)
  t.same(a.node.delivered, [], 'nothing delivered, not even locally')
  await t.rejects(a.adapter.history.read('chat', { limit: 10 }, policy), /history of room "chat" could not be read/)
})

t.test('one round trip per publication; rooms without history run no history command', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const [a, b] = await twoNodes(t, redis)
  b.adapter.watch('room', 'chat')
  await b.adapter.settled()
  await a.adapter.history.publish('chat', chat('chat', 0), policy) // loads the script
  await until(() => b.node.delivered.length === 1, 5_000, 'the first crossed')
  const probe = redis.client()
  await probe.config('RESETSTAT')
  const count = 20
  for (let n = 1; n <= count; n++) await a.adapter.history.publish('chat', chat('chat', n), policy)
  await until(() => b.node.delivered.length === count + 1, 5_000, 'all crossed')
  const calls = await commandCalls(probe)
  t.equal(calls.evalsha, count, 'one script call per publication')
  t.equal(calls.eval, undefined, 'the script was not sent again')
  t.equal(calls.publish, count, 'published from inside the script only')
  t.equal(calls.xadd, count)

  await probe.config('RESETSTAT')
  for (let n = 1; n <= count; n++) await a.adapter.publish(chat('plain', n))
  const plain = await commandCalls(probe)
  t.equal(plain.publish, count, 'a plain room publishes as before')
  for (const command of ['evalsha', 'eval', 'xadd', 'hincrby', 'hget']) t.equal(plain[command], undefined, `no ${command}`)
})

t.test('Redis Cluster: a room stream and its channel share a slot, whatever the room name', async (t) => {
  const cluster = await startRedisCluster()
  t.teardown(() => cluster.stop())
  const keyPrefix = uniquePrefix('history-cluster')
  const a = await startNode(t, cluster.client(), keyPrefix, 'a')
  const b = await startNode(t, cluster.client(), keyPrefix, 'b')
  const rooms = ['lobby', 'a}b', '{x}y', '}{', 'chat:42']
  for (const room of rooms) b.adapter.watch('room', room)
  await b.adapter.settled()
  for (const room of rooms) {
    const first = await a.adapter.history.publish(room, chat(room, 1), policy)
    const second = await b.adapter.history.publish(room, chat(room, 2), policy)
    t.same(second, { epoch: first.epoch, offset: 2 }, `${room}: one stream`)
    await until(
      () => b.node.delivered.some((d) => d.target.kind === 'rooms' && d.target.rooms[0] === room && d.position?.offset === 1),
      5_000,
      `${room} crossed`,
    )
    const page = await a.adapter.history.read(room, { limit: 10 }, policy)
    t.same(
      page.publications.map((p) => p.offset),
      [1, 2],
    )
  }
})
