import type { Socket } from 'node:net'
import t from 'tap'
import WebSocket from 'ws'
import type { RoomcastServer } from '../../plugin/index.js'
import { nextEvent, startTestServer, testClient, type TestEvents } from '../helpers/client.js'
import { until } from '../helpers/server.js'
import { recordSequence, sequence } from './client-support.js'

const MESSAGE_BYTES = 16 * 1024
const LIMIT = 256 * 1024
const PER_ROUND = 8
const MAX_ROUNDS = 240

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

t.test('drop policy: the gap a slow reader was told of is filled from history, in order, each message once', async (t) => {
  const server = await startTestServer({
    backpressure: { maxBufferedBytes: LIMIT, policy: 'drop', maxDropped: Infinity },
    history: [{ match: 'feed', size: PER_ROUND * MAX_ROUNDS, ttl: 60_000 }],
  })
  t.teardown(() => server.close())
  const sockets: WebSocket[] = []
  class RecordedWebSocket extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args)
      sockets.push(this)
    }
  }
  // No watchdog: the paused reader hears nothing for a while on purpose.
  const client = testClient(server.url, { WebSocket: RecordedWebSocket as unknown as typeof WebSocket, heartbeatGrace: false, requestTimeout: 20_000 })
  t.teardown(() => client.close())
  const { received, recoveries } = recordSequence(client, 'feed')
  await client.ready()
  await client.join('feed')
  const rooms = (server.app.roomcast as unknown as RoomcastServer<TestEvents>).rooms
  const connection = server.app.roomcast.connections.get(client.connectionId!)!

  // A reader that stops reading while the room keeps publishing: the server drops for it.
  const tcp = (sockets[0] as unknown as { _socket: Socket })._socket
  tcp.pause()
  const padding = 'x'.repeat(MESSAGE_BYTES)
  let published = 0
  const publish = async (): Promise<void> => {
    const rounds: Array<Promise<unknown>> = []
    for (let i = 0; i < PER_ROUND; i++) rounds.push(rooms.to('feed').emit('said', { from: 'server', text: `${published++} ${padding}` }))
    await Promise.all(rounds)
    await nextTurn()
  }
  for (let round = 0; round < MAX_ROUNDS && connection.dropped === 0; round++) await publish()
  t.ok(connection.dropped > 0, 'messages were dropped')
  // Some more: dropped too while the reader is stalled.
  for (let round = 0; round < 4; round++) await publish()

  const dropped = nextEvent(client, 'dropped', 20_000)
  const recovery = nextEvent(client, 'recovery', 30_000)
  tcp.resume()
  t.match(await dropped, { rooms: { feed: { offset: Number } } })
  t.match(await recovery, { room: 'feed', recovered: true })

  // Live traffic after the gap goes on.
  for (let round = 0; round < 2; round++) await publish()
  await until(() => received.length >= published, 30_000, 'every message arrives')
  t.equal(received.length, published, 'no duplicates')
  t.same(received, sequence(published), 'every message, in order')
  t.equal(recoveries.length, 1)
  t.ok(recoveries[0]!.replayed > 0, `the gap was read from history (${recoveries[0]!.replayed} publications)`)
  t.equal(client.state, 'connected')
})
