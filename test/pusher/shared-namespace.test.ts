import t from 'tap'
import { RawClient } from '../helpers/server.js'
import { startPusherServer } from '../helpers/pusher.js'

// Native clients share rooms with Pusher channels; they must not reach the channels that Pusher
// protects with signatures, nor the internal `#` rooms, by their own join requests.
t.test('native clients cannot join private, presence or internal channels by themselves', async (t) => {
  const server = await startPusherServer({})
  t.teardown(() => server.app.close())
  const native = await RawClient.open(server.url().replace(/\/app\/.*$/, '/ws'))
  t.teardown(() => native.close())
  await native.next('connected')

  const refused = await native.request('join', { rooms: ['private-orders', 'presence-lobby', 'private-encrypted-x', '#server-to-user-1', '#connections'] })
  t.equal(refused.event, 'error')
  t.equal(refused.data.code, 'join_refused')

  const mixed = await native.request('join', { rooms: ['news', 'private-orders'] })
  t.equal(mixed.event, 'ack')
  t.same(mixed.data, { joined: ['news'], refused: ['private-orders'] })

  // The server may still put a native connection in a protected room on purpose.
  const id = (native.frames.find((f) => f.event === 'connected')!.data as { connectionId: string }).connectionId
  t.equal(await server.app.roomcast.rooms.join(id, 'private-orders'), 1)
  server.app.roomcast.rooms.to('private-orders').emit('order.created', { id: 7 })
  const delivered = await native.next('order.created')
  t.same(delivered.data, { id: 7 })
  t.equal(delivered.room, 'private-orders')
})
