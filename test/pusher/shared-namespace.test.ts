import type { FastifyInstance } from 'fastify'
import type { PresenceChannel } from 'pusher-js'
import t, { type Test } from 'tap'
import { Emitter, RoomcastError, redisAdapter, type JoinRequest, type RoomcastOptions } from '../../plugin/index.js'
import type { AnyEvents } from '../../shared/index.js'
import { AppRegistry } from '../../plugin/pusher/apps.js'
import { startRedis, uniquePrefix } from '../helpers/redis.js'
import { connect, until, type RawClient } from '../helpers/server.js'
import { APP, connected, once, pusherJs, startPusherServer, type PusherServer } from '../helpers/pusher.js'

// Native rooms and Pusher channels share the hub but not its authority: a Pusher socket needs
// no credentials, so nothing native may reach it, and no native client may reach a channel.

/** Every room the native side uses here: each is also subscribed to as a Pusher channel. */
const NATIVE_ROOMS = ['admins', 'lobby', 'news', 'private-orders', 'presence-lobby']

/** Native clients authenticate as the user they name; only "admin" may join `admins`. */
const nativeOptions: Partial<RoomcastOptions> = {
  authenticate: (data: unknown) => {
    const user = (data as { user?: unknown } | null)?.user
    return typeof user === 'string' ? { userId: user } : null
  },
  authorizeJoin: ({ connection, rooms }: JoinRequest<AnyEvents>) => rooms.filter((room) => room !== 'admins' || connection.userId === 'admin'),
}

/** A chat handler that sends to the room the client names, as examples/chat does. */
function chatHandler(app: FastifyInstance): void {
  app.roomcast.on('chat.send', (connection, data) => {
    const { room, text } = data as { room: string; text: string }
    app.roomcast.rooms.to(room).emit('chat.message', { from: connection.userId ?? '', text })
  })
}

async function nativeClient(t: Test, server: PusherServer, user: string, rooms: string[]): Promise<{ client: RawClient; id: string; joined: string[] }> {
  const { client, connected: hello } = await connect(`ws://127.0.0.1:${server.port}/ws`, { user })
  t.teardown(() => client.close())
  const joined = await client.request('join', { rooms })
  if (joined.event !== 'ack') throw new Error(`join failed: ${JSON.stringify(joined)}`)
  return { client, id: (hello.data as { connectionId: string }).connectionId, joined: (joined.data as { joined: string[] }).joined }
}

/** A pusher-js client signed in as `user`, subscribed to `channels`, recording every event that reaches it. */
async function pusherClient(t: Test, server: PusherServer, user: string, channels: string[]) {
  const client = pusherJs(server, { user: { id: user }, presence: () => ({ user_id: user }) })
  t.teardown(() => client.disconnect())
  const seen: string[] = []
  client.connection.bind('message', (message: { event: string }) => seen.push(message.event))
  const socketId = await connected(client)
  client.signin()
  await until(() => client.user.serverToUserChannel?.subscribed === true, 5000, 'signed in')
  for (const name of channels) {
    const channel = client.subscribe(name)
    await once(channel, 'pusher:subscription_succeeded')
  }
  return { client, seen, socketId }
}

/** Events that only native traffic carries. */
const nativeEvents = (seen: readonly string[]): string[] => seen.filter((event) => event.startsWith('native.') || event.startsWith('chat.'))

t.test('an anonymous Pusher socket subscribed to every name a native room uses receives nothing of native traffic', async (t) => {
  const server = await startPusherServer(nativeOptions, chatHandler)
  t.teardown(() => server.app.close())
  const admin = await nativeClient(t, server, 'admin', NATIVE_ROOMS)
  // The case: a native client refused `admins` by authorizeJoin...
  const nosy = await nativeClient(t, server, 'nosy', ['lobby'])
  const refused = await nosy.client.request('join', { rooms: ['admins'] })
  t.equal(refused.data.code, 'join_refused')
  // ...and a Pusher socket, which needs no credentials, subscribed to the same names and signed in as the native admin.
  const pusher = await pusherClient(t, server, 'admin', NATIVE_ROOMS)

  const roomcast = server.app.roomcast
  for (const room of NATIVE_ROOMS) roomcast.rooms.to(room).emit('native.room', { room })
  roomcast.emitter.to('admins').emit('native.emitter', { secret: 1 })
  roomcast.users.to('admin').emit('native.user', { secret: 2 })
  roomcast.broadcast('native.all', { secret: 3 })
  roomcast.connections.send(pusher.socketId, 'native.direct', { secret: 4 })
  admin.client.send({ event: 'chat.send', data: { room: 'admins', text: 'for admins only' } })
  // The native side got all of it (so it was sent)...
  for (let i = 0; i < admin.joined.length; i++) await admin.client.next('native.room')
  for (const event of ['native.emitter', 'native.user', 'native.all', 'chat.message']) await admin.client.next(event)
  t.equal(admin.client.all('native.direct').length, 0, 'a send to a Pusher socket id reaches no native client either')

  // ...and a Pusher event sent after it arrives alone.
  const marker = once(pusher.client.channel('news'), 'marker')
  await roomcast.pusher!.trigger(APP.id, ['news'], 'marker', {})
  await marker
  t.same(nativeEvents(pusher.seen), [], 'no native delivery reached the Pusher socket')
  t.same(await roomcast.users.connectionsOf('admin'), [admin.id], 'the signed-in Pusher user is not the native user')
  t.same((await roomcast.rooms.list()).sort(), [...NATIVE_ROOMS].sort(), 'channels are not native rooms')
})

t.test("a native client cannot join a Pusher channel's room, and Pusher traffic never reaches native clients", async (t) => {
  const server = await startPusherServer(nativeOptions)
  t.teardown(() => server.app.close())
  const roomcast = server.app.roomcast
  const pusherService = roomcast.pusher!
  const app = (await pusherService.apps.byId(APP.id))!
  const channelRooms = ['news', 'private-orders', 'presence-lobby', '#connections', '#server-to-user-u1'].map((channel) => pusherService.room(app, channel))
  const native = await nativeClient(t, server, 'u1', ['news', 'private-orders', 'presence-lobby'])

  // By its own request: the exact room names of channels are not native room names.
  for (const room of channelRooms) {
    const reply = await native.client.request('join', { rooms: [room] })
    t.equal(reply.event, 'error', `join ${JSON.stringify(room)}`)
    t.equal(reply.data.code, 'invalid_room')
  }
  // Nor through the server API, whose names are native ones.
  await t.rejects(roomcast.rooms.join(native.id, channelRooms[1]!), RoomcastError)
  await t.rejects(roomcast.rooms.join(native.id, channelRooms[1]!), { code: 'invalid_room' })
  await t.rejects(roomcast.rooms.members(channelRooms[2]!), { code: 'invalid_room' })
  t.throws(() => roomcast.rooms.to(channelRooms[0]!), { code: 'invalid_room' })
  t.throws(() => roomcast.emitter.to('news').to(channelRooms[0]!), { code: 'invalid_room' })
  t.throws(() => roomcast.users.to(app.roomPrefix + 'u1'), TypeError)
  t.same([...roomcast.connections.get(native.id)!.rooms].sort(), ['news', 'presence-lobby', 'private-orders'])

  // Pusher-originated traffic on the same names, and to the same user id, reaches only Pusher sockets.
  const pusher = await pusherClient(t, server, 'u1', ['news', 'private-orders', 'presence-lobby'])
  const peer = await pusherClient(t, server, 'u2', ['private-orders', 'presence-lobby'])
  t.equal(await roomcast.rooms.join(pusher.socketId, 'lobby'), 0, 'the native API does not move Pusher sockets into native rooms')
  const clientEvent = once(peer.client.channel('private-orders'), 'client-order')
  pusher.client.channel('private-orders').trigger('client-order', { id: 1 })
  await clientEvent
  const presenceEvent = once(peer.client.channel('presence-lobby') as PresenceChannel, 'client-wave')
  pusher.client.channel('presence-lobby').trigger('client-wave', {})
  await presenceEvent
  const triggered = once(pusher.client.channel('news'), 'pusher.news')
  await pusherService.trigger(APP.id, ['news', 'private-orders', 'presence-lobby'], 'pusher.news', {})
  await triggered
  const toUser = once(pusher.client.user, 'pusher.user')
  await pusherService.sendToUser(APP.id, 'u1', 'pusher.user', {})
  await toUser

  const marker = native.client.next('native.marker')
  roomcast.rooms.to(['news', 'private-orders', 'presence-lobby']).emit('native.marker', {})
  await marker
  const events = native.client.frames.map((frame) => frame.event).filter((event) => event !== 'ack' && event !== 'error' && event !== 'connected')
  t.same(events, ['native.marker'], 'nothing of Pusher reached the native client')
})

t.test('roomPrefix, which could make a channel a native room, is refused', async (t) => {
  t.throws(() => new AppRegistry([{ ...APP, roomPrefix: '' } as typeof APP]), { message: /roomPrefix is not supported/ })
})

t.test('across nodes over Redis: native traffic, from a node or an Emitter, never reaches Pusher sockets; emitter.pusher(appId) does', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const keyPrefix = uniquePrefix('namespaces')
  const node = async (nodeId: string): Promise<PusherServer> => {
    const server = await startPusherServer({ ...nativeOptions, nodeId, adapter: redisAdapter({ redis: redis.client(), keyPrefix, heartbeatInterval: 1000 }) })
    t.teardown(() => server.app.close())
    return server
  }
  const a = await node('a')
  const b = await node('b')
  await until(async () => (await a.app.roomcast.query({ type: 'nodes' })).value.length === 2, 5000, 'the nodes see each other')

  const nativeA = await nativeClient(t, a, 'u1', ['lobby'])
  const nativeB = await nativeClient(t, b, 'u2', ['lobby'])
  const pusherB = await pusherClient(t, b, 'u1', ['lobby', 'private-orders'])
  const emitter = new Emitter({ redis: redis.client(), keyPrefix })

  // From node a and from the Emitter, native traffic of every kind: rooms, users, everyone.
  a.app.roomcast.rooms.to('lobby').emit('native.room', {})
  a.app.roomcast.users.to('u1').emit('native.user', {})
  a.app.roomcast.broadcast('native.all', {})
  emitter.to('lobby').emit('native.emitter-room', {})
  emitter.toUser('u1').emit('native.emitter-user', {})
  emitter.broadcast('native.emitter-all', {})
  await emitter.flush()
  t.equal(await a.app.roomcast.rooms.join(pusherB.socketId, 'lobby'), 0, 'a Pusher socket on another node is not moved into a native room')
  t.equal(await a.app.roomcast.users.join('u1', 'extra'), 1, 'only the native connection of u1 joins')
  // Node b has handled all of it: its native client got what was meant for it.
  for (const event of ['native.room', 'native.all', 'native.emitter-room', 'native.emitter-all']) await nativeB.client.next(event)
  for (const event of ['native.user', 'native.emitter-user']) await nativeA.client.next(event)

  // The explicit bridge reaches pusher-js on node b, and no native client.
  const bridged = once(pusherB.client.channel('lobby'), 'bridged')
  const privately = once(pusherB.client.channel('private-orders'), 'bridged')
  const toUser = once(pusherB.client.user, 'bridged-user')
  emitter.pusher(APP.id).trigger(['lobby', 'private-orders'], 'bridged', { n: 1 })
  emitter.pusher(APP.id).sendToUser('u1', 'bridged-user', { n: 2 })
  t.throws(() => emitter.pusher(APP.id).trigger('#connections', 'x', {}), TypeError)
  const nativeMarker = nativeB.client.next('native.marker')
  emitter.to('lobby').emit('native.marker', {})
  await emitter.flush()
  t.same(await bridged, { n: 1 })
  t.same(await privately, { n: 1 })
  t.same(await toUser, { n: 2 })
  await nativeMarker
  await nativeA.client.next('native.marker')

  const pusherMarker = once(pusherB.client.channel('lobby'), 'marker')
  await a.app.roomcast.pusher!.trigger(APP.id, ['lobby'], 'marker', {})
  await pusherMarker
  t.same(nativeEvents(pusherB.seen), [], 'no native delivery reached the Pusher socket')
  for (const native of [nativeA, nativeB]) {
    t.same(
      native.client.frames.filter((frame) => frame.event.startsWith('bridged') || frame.event === 'marker'),
      [],
      'no Pusher delivery reached a native client',
    )
  }
})
