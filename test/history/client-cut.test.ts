import t from 'tap'
import type { RoomcastServer } from '../../plugin/index.js'
import { nextEvent, startTestServer, testClient, type TestEvents } from '../helpers/client.js'
import { until } from '../helpers/server.js'
import { cutDuringStream, EVERY_MS, expectWholeStream, joinFeedThroughCut, startCutProxy, stream } from './client-support.js'

t.test("a client's network cut for about a second during a 50 msg/s stream: every message arrives once, in order", async (t) => {
  const server = await startTestServer({ history: [{ match: 'feed', size: 1000, ttl: 60_000 }] })
  t.teardown(() => server.close())
  const { proxy, client, received, recoveries } = await joinFeedThroughCut(t, server.port)

  const rooms = server.app.roomcast as unknown as RoomcastServer<TestEvents>
  const feed = stream((n) => rooms.rooms.to('feed').emit('said', { from: 'server', text: String(n) }), EVERY_MS)
  t.teardown(() => feed.stop())
  await until(() => received.length >= 25, 10_000, 'the stream reaches the client')

  t.match(await cutDuringStream(client, proxy, feed), { reconnected: true })
  t.equal(proxy.accepted >= 2, true, 'the client came back through a new connection')
  await expectWholeStream(t, feed, received)
  t.equal(recoveries.length, 1, 'one recovery')
  t.match(recoveries[0], { room: 'feed', recovered: true })
  t.ok(recoveries[0]!.replayed > 0, `the gap was replayed (${recoveries[0]!.replayed} publications)`)
  t.equal(recoveries[0]!.reason, undefined)
})

t.test('the recovery event comes after the replayed messages and before the live ones', async (t) => {
  const server = await startTestServer({ history: [{ match: 'feed', size: 100, ttl: 60_000 }] })
  t.teardown(() => server.close())
  const proxy = await startCutProxy(server.port)
  t.teardown(() => proxy.close())
  const client = testClient(proxy.url)
  t.teardown(() => client.close())
  const order: string[] = []
  client.on('said', (message, meta) => order.push(`${message.text}@${meta.offset}`))
  client.on('recovery', (info) => order.push(`recovery ${info.recovered} ${info.replayed}`))
  await client.ready()
  await client.join('feed')
  const rooms = server.app.roomcast as unknown as RoomcastServer<TestEvents>
  await rooms.rooms.to('feed').emit('said', { from: 'server', text: 'a' })
  await until(() => order.length === 1)

  const lost = nextEvent(client, 'reconnecting')
  proxy.cut()
  await lost
  await rooms.rooms.to('feed').emit('said', { from: 'server', text: 'b' })
  await rooms.rooms.to('feed').emit('said', { from: 'server', text: 'c' })
  const back = nextEvent(client, 'connected')
  proxy.restore()
  await back
  await rooms.rooms.to('feed').emit('said', { from: 'server', text: 'd' })
  await until(() => order.length === 5)
  t.same(order, ['a@1', 'b@2', 'c@3', 'recovery true 2', 'd@4'])
})
