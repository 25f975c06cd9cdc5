import t, { type Test } from 'tap'
import { Emitter, ErrorCode, RoomcastError, redisAdapter, type RedisAdapter } from '../../plugin/index.js'
import { startRedis, uniquePrefix, type RedisServer } from '../helpers/redis.js'
import { connect, startServer, until, type Frame, type RawClient } from '../helpers/server.js'
import { rawPusher, startPusherServer, type PusherServer } from '../helpers/pusher.js'
import { sdkError } from '../helpers/pusher-http.js'

/**
 * A publish is acknowledged only once the cluster bus took it: with Redis gone, the HTTP API
 * answers 503 (the `pusher` SDK rejects), `emit()` rejects with `publish_failed`, and an
 * application that ignores the outcome gets no unhandled rejection.
 */

interface Node extends PusherServer {
  adapter: RedisAdapter
  /** The native WebSocket route. */
  wsUrl: string
}

const byName = { authenticate: (data: unknown) => ({ userId: (data as { user: string }).user }) }

async function twoNodes(t: Test, redis: RedisServer): Promise<[Node, Node]> {
  const keyPrefix = uniquePrefix('publish-outcome')
  const start = async (nodeId: string): Promise<Node> => {
    const adapter = redisAdapter({ redis: redis.client(), keyPrefix, heartbeatInterval: 300, requestTimeout: 2_000 })
    const server = await startPusherServer({ nodeId, adapter, ...byName })
    t.teardown(() => server.app.close())
    return { ...server, adapter, wsUrl: `ws://127.0.0.1:${server.port}/ws` }
  }
  const a = await start('a')
  const b = await start('b')
  await until(() => a.adapter.stats.liveNodes === 1 && b.adapter.stats.liveNodes === 1, 5_000, 'the nodes see each other')
  return [a, b]
}

/** A native client of `user` in `room`, once Redis confirmed the node's subscriptions. */
async function nativeMember(t: Test, node: Node, user: string, room: string): Promise<RawClient> {
  const { client } = await connect(node.wsUrl, { user })
  t.teardown(() => client.close())
  await client.request('join', { rooms: [room] })
  await node.adapter.settled()
  return client
}

/** A raw Pusher client subscribed to `channel`. */
async function pusherSubscriber(t: Test, node: Node, channel: string): Promise<RawClient> {
  const { client } = await rawPusher(node.url())
  t.teardown(() => client.close())
  client.send({ event: 'pusher:subscribe', data: { channel } })
  await client.next('pusher_internal:subscription_succeeded')
  await node.adapter.settled()
  return client
}

/** Matches the Pusher `update` event carrying `{ n }`. */
function update(n: number): (frame: Frame) => boolean {
  return (frame) => frame.event === 'update' && (JSON.parse(frame.data as string) as { n?: number }).n === n
}

/** Rejections nobody handled while the test runs: an ignored publish outcome must never be one. */
function watchUnhandledRejections(t: Test): unknown[] {
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason)
  process.on('unhandledRejection', onUnhandled)
  t.teardown(() => void process.off('unhandledRejection', onUnhandled))
  return unhandled
}

async function publishFailure(promise: Promise<unknown>): Promise<RoomcastError> {
  try {
    await promise
  } catch (err) {
    return err as RoomcastError
  }
  throw new Error('the publish was acknowledged')
}

t.test('Redis down: the HTTP API answers 503, emit() rejects with publish_failed, ignored outcomes stay handled; Redis back: publishes succeed', async (t) => {
  const unhandled = watchUnhandledRejections(t)

  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const [a, b] = await twoNodes(t, redis)
  a.app.roomcast.on('shout', async (_connection, data) => {
    await a.app.roomcast.rooms.to('room').emit('shout', data)
    return { sent: true }
  })
  const annA = await nativeMember(t, a, 'ann', 'room')
  const benB = await nativeMember(t, b, 'ben', 'room')
  const localSub = await pusherSubscriber(t, a, 'news')
  const remoteSub = await pusherSubscriber(t, b, 'news')

  // Before the outage every outcome is a success.
  t.same(
    await a
      .sdk()
      .trigger('news', 'update', { n: 1 })
      .then((response) => response.status),
    200,
    'the SDK publish succeeds',
  )
  t.same(JSON.parse((await remoteSub.next(update(1))).data as string), { n: 1 }, 'a subscriber on the other node got it')
  t.equal(await a.app.roomcast.rooms.to('room').emit('chat', { n: 1 }), undefined, 'emit() resolves')
  t.same((await benB.next('chat')).data, { n: 1 })

  await redis.kill()
  await until(() => !a.adapter.stats.connected && !b.adapter.stats.connected, 5_000, 'both nodes notice')

  // The HTTP API: 503 with { error, code }, the SDK rejects; this node's subscriber still got it.
  const single = await sdkError(a.sdk().trigger('news', 'update', { n: 2 }))
  t.equal(single.status, 503, 'POST /events answers 503')
  t.match(single.body, { code: 503, error: /could not be handed to the other nodes/ })
  t.same(JSON.parse((await localSub.next(update(2))).data as string), { n: 2 }, "this node's subscriber got the event")
  const batch = await sdkError(
    a.sdk().triggerBatch([
      { channel: 'news', name: 'update', data: '{"n":3}' },
      { channel: 'other', name: 'update', data: '{}' },
    ]),
  )
  t.equal(batch.status, 503, 'POST /batch_events answers 503')
  t.match(batch.body, { code: 503, error: /^batch\[0\], batch\[1\]: / })
  t.same(JSON.parse((await localSub.next(update(3))).data as string), { n: 3 })

  // The native API: every delivery form reports the failure.
  const failure = await publishFailure(a.app.roomcast.rooms.to('room').emit('chat', { n: 2 }))
  t.ok(failure instanceof RoomcastError, 'rooms.to().emit() rejects with a RoomcastError')
  t.equal(failure.code, ErrorCode.PublishFailed)
  t.equal(failure.code, 'publish_failed')
  t.match(failure.message, /reached this node's recipients/)
  t.same((await annA.next((f) => f.event === 'chat' && f.data.n === 2)).data, { n: 2 }, 'the local member got it at once')
  t.equal((await publishFailure(a.app.roomcast.users.to('ben').emit('chat', { n: 3 }))).code, 'publish_failed', 'users.to().emit() rejects')
  t.equal((await publishFailure(a.app.roomcast.broadcast('chat', { n: 4 }))).code, 'publish_failed', 'broadcast() rejects')
  t.equal((await publishFailure(a.app.roomcast.emitter.to('room').emit('chat', { n: 5 }))).code, 'publish_failed', 'emitter.to().emit() rejects')
  t.equal((await publishFailure(a.app.roomcast.pusher!.trigger('app-id', ['news'], 'update', {}))).code, 'publish_failed', 'pusher.trigger() rejects')

  // A handler that awaits emit answers its client's request with the truth.
  const reply = await annA.request('shout', { text: 'hi' })
  t.match(reply, { event: 'error', data: { code: 'publish_failed' } }, 'the request gets an error reply, not an ack')

  // An application that ignores the outcome: no unhandled rejection.
  a.app.roomcast.rooms.to('room').emit('chat', { n: 6 })
  a.app.roomcast.broadcast('chat', { n: 7 })
  b.app.roomcast.users.to('ann').emit('chat', { n: 8 })
  await new Promise((resolve) => setImmediate(resolve))
  t.same(unhandled, [], 'ignored rejections never surface as unhandled')

  // Redis comes back: publishes succeed again.
  await redis.restart()
  await until(() => a.adapter.stats.connected && b.adapter.stats.connected, 10_000, 'both nodes reconnect')
  await until(() => a.adapter.stats.liveNodes === 1 && b.adapter.stats.liveNodes === 1, 10_000, 'the nodes find each other again')
  await Promise.all([a.adapter.settled(), b.adapter.settled()])
  t.equal((await a.sdk().trigger('news', 'update', { n: 9 })).status, 200, 'the SDK publish succeeds again')
  t.same(JSON.parse((await remoteSub.next(update(9))).data as string), { n: 9 })
  t.equal(await a.app.roomcast.rooms.to('room').emit('chat', { n: 10 }), undefined, 'emit() resolves again')
  t.same((await benB.next((f) => f.event === 'chat' && f.data.n === 10)).data, { n: 10 }, 'and the other node got it')
  t.match(await annA.request('shout', { text: 'again' }), { event: 'ack', data: { sent: true } })
})

t.test('the Emitter: a message waiting in the offline queue resolves once sent; past maxPending it rejects with publish_failed', async (t) => {
  const unhandled = watchUnhandledRejections(t)

  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const client = redis.client()
  const emitter = new Emitter({ redis: client, keyPrefix: uniquePrefix('emitter-outcome'), maxPending: 1 })
  t.equal(await emitter.broadcast('notice', { n: 0 }), undefined, 'resolves once Redis took it')

  await redis.kill()
  await until(() => client.status !== 'ready', 5_000, 'the client notices')
  let settled: string | undefined
  const waiting = emitter.to('lobby').emit('notice', { n: 1 })
  waiting.then(
    () => (settled = 'resolved'),
    () => (settled = 'rejected'),
  )
  const refused = await publishFailure(emitter.toUser('ann').emit('notice', { n: 2 }))
  t.equal(refused.code, 'publish_failed', 'past maxPending the emit rejects at once')
  t.match(refused.message, /no node got it/)
  emitter.broadcast('notice', { n: 3 }) // ignored: must not surface as unhandled
  t.equal(settled, undefined, 'the queued message is still waiting')

  await redis.restart()
  await waiting
  t.equal(settled, 'resolved', 'the queued message resolved once it was sent')
  t.equal(await emitter.broadcast('notice', { n: 4 }), undefined)
  await new Promise((resolve) => setImmediate(resolve))
  t.same(unhandled, [], 'no unhandled rejection')
})

t.test('the in-process adapter: emit() and broadcast() resolve at once (there is no bus to refuse them)', async (t) => {
  const { app, url } = await startServer({ ...byName })
  t.teardown(() => app.close())
  const { client } = await connect(url, { user: 'ann' })
  t.teardown(() => client.close())
  await client.request('join', { rooms: ['room'] })
  const outcome = app.roomcast.rooms.to('room').emit('chat', { n: 1 })
  t.type(outcome, Promise)
  t.equal(await outcome, undefined)
  t.equal(await app.roomcast.broadcast('chat', { n: 2 }), undefined)
  t.same((await client.next('chat')).data, { n: 1 }, 'delivered')
})
