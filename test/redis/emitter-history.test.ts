import t from 'tap'
import { Emitter, ErrorCode, redisAdapter, type RedisAdapter, type StreamPosition } from '../../plugin/index.js'
import { events, nextEvent, startTestServer, type TestServer } from '../helpers/client.js'
import { startRedis, uniquePrefix } from '../helpers/redis.js'
import { until } from '../helpers/server.js'
import { joinFeedThroughCut, sequence } from '../history/client-support.js'

/**
 * The standalone Emitter and rooms with history: given the nodes' `history` option, its
 * publications are stored with a position by the same script a node uses, so clients get
 * offsets and recover what the Emitter sent while they were away.
 */

const history = [{ match: 'feed', size: 1000, ttl: 60_000 }]

t.test('a client in a history room gets the Emitter publications with offsets, and recovers those it missed', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const keyPrefix = uniquePrefix('emitter-history')
  const adapter: RedisAdapter = redisAdapter({ redis: redis.client(), keyPrefix, heartbeatInterval: 1_000, requestTimeout: 2_000 })
  const server: TestServer = await startTestServer({ adapter, nodeId: 'a', history })
  t.teardown(() => server.close())
  const emitter = new Emitter({ redis: redis.client(), keyPrefix, events, history })

  const { proxy, client, received, recoveries } = await joinFeedThroughCut(t, server.port)
  const offsets: Array<number | undefined> = []
  client.on('said', (_message, meta) => offsets.push(meta.offset))
  await adapter.settled()

  const positions: Array<StreamPosition | undefined> = []
  for (let n = 0; n < 3; n++) positions.push(await emitter.to('feed').emit('said', { from: 'emitter', text: String(n) }))
  t.same(
    positions.map((position) => position?.offset),
    [1, 2, 3],
    'emit resolves with each position',
  )
  await until(() => received.length === 3, 5_000, 'the client gets them')
  t.same(offsets, [1, 2, 3], 'delivered with their offsets')

  // Missed while the client is away: recovered on its rejoin, in order, once each.
  const lost = nextEvent(client, 'reconnecting')
  proxy.cut()
  await lost
  for (let n = 3; n < 8; n++) await emitter.to('feed').emit('said', { from: 'emitter', text: String(n) })
  const recovery = nextEvent(client, 'recovery', 10_000)
  proxy.restore()
  t.match(await recovery, { room: 'feed', recovered: true, replayed: 5 })
  await until(() => received.length === 8, 5_000, 'the missed publications arrive')
  t.same(received, sequence(8), 'every publication once, in order')
  t.same(recoveries.length, 1)

  // The node's own publications continue the same stream.
  const fromNode = await server.app.roomcast.rooms.to('feed').emit('said', { from: 'a', text: '8' })
  t.same(fromNode, { epoch: positions[0]!.epoch, offset: 9 }, "a node's publication follows the Emitter's")

  // Several rooms at once: the history room gets its own stored publication, the other room a plain one.
  const both = await emitter.to(['feed', 'plain']).emit('said', { from: 'emitter', text: '9' })
  t.same(both, { epoch: positions[0]!.epoch, offset: 10 }, 'resolves with the history room position')
  await until(() => received.length === 10, 5_000, 'the two-room publication arrives once')
  t.same(offsets.slice(-1), [10])
  t.same(await emitter.to('plain').emit('said', { from: 'emitter', text: 'x' }), undefined, 'rooms without history: no position')
  t.same(emitter.stats, { published: 11, publishFailures: 0 }, 'stored publications count like the others (the two-room one twice)')
})

t.test('an Emitter with history: publish_failed when the publication cannot be stored; bad options refused', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const errors: Error[] = []
  const client = redis.client({ enableOfflineQueue: false, maxRetriesPerRequest: 0 })
  const emitter = new Emitter({ redis: client, keyPrefix: uniquePrefix('emitter-history'), events, history, onError: (err) => errors.push(err) })
  await until(() => client.status === 'ready', 5_000, 'the client is connected')
  t.equal((await emitter.to('feed').emit('said', { from: 'e', text: '1' }))?.offset, 1)
  await redis.kill()
  await until(() => client.status !== 'ready', 5_000, 'the client sees Redis gone')
  const error = await emitter
    .to('feed')
    .emit('said', { from: 'e', text: '2' })
    .then(
      () => undefined,
      (err: unknown) => err as { code?: string },
    )
  t.equal(error?.code, ErrorCode.PublishFailed, 'rejects with publish_failed')
  t.equal(emitter.stats.publishFailures, 1)
  t.equal(errors.length, 1, 'reported to onError')

  t.throws(() => new Emitter({ redis: redis.client(), history: [{ match: 'x', size: 0, ttl: 1 }] }), TypeError, 'a bad rule')
  t.throws(() => new Emitter({ redis: redis.client({ keyPrefix: 'app:' }), history }), /keyPrefix/, 'a client prefix would move the stream keys')
})
