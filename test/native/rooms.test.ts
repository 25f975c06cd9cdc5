import Fastify from 'fastify'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import roomcast, { type JoinRequest, type RegisteredEvents, type RoomcastOptions } from '../../plugin/index.js'
import type { AnyEvents } from '../../shared/index.js'
import { RawClient, connect, delay, startServer, until } from '../helpers/server.js'

/** In-band auth where the client names its user: `{ user }`. */
const byName = { authenticate: (data: unknown) => ({ userId: (data as { user: string }).user }) }

/** Sends a marker to everyone and waits for it, so any frame sent before it has arrived too. */
async function settle(app: Awaited<ReturnType<typeof startServer>>['app'], clients: RawClient[]): Promise<void> {
  const marker = Math.random()
  app.roomcast.broadcast('marker', marker)
  await Promise.all(clients.map((client) => client.next((f) => f.event === 'marker' && f.data === marker)))
}

const invalidRoomMessage = 'join expects { rooms: string[] } with 1 to 100 names of 1 to 200 characters, none of them a control character'

t.test('join and leave answer with acks; the room field tags room deliveries', async (t) => {
  const joins: string[] = []
  const leaves: string[] = []
  const { app, url } = await startServer({})
  app.roomcast.addHook('join', (connection, room) => {
    joins.push(`${connection.id}:${room}`)
  })
  app.roomcast.addHook('leave', (connection, room) => {
    leaves.push(`${connection.id}:${room}`)
  })
  t.teardown(() => app.close())
  const { client, connected } = await connect(url)
  t.teardown(() => client.close())
  const id = connected.data.connectionId as string

  t.same(await client.request('join', { rooms: ['a', 'b'] }), { event: 'ack', id: 1, data: { joined: ['a', 'b'], refused: [] } })
  t.same(await client.request('join', { rooms: ['a', 'a', 'c'] }), { event: 'ack', id: 2, data: { joined: ['a', 'c'], refused: [] } })
  t.same(joins, [`${id}:a`, `${id}:b`, `${id}:c`], 'join hook once per room actually joined')
  t.same([...app.roomcast.connections.get(id)!.rooms].sort(), ['a', 'b', 'c'])
  t.same((await app.roomcast.rooms.list()).sort(), ['a', 'b', 'c'])

  app.roomcast.rooms.to('b').emit('news', { n: 1 })
  t.same(await client.next('news'), { event: 'news', data: { n: 1 }, room: 'b' })

  t.same(await client.request('leave', { rooms: ['a', 'nope'] }), { event: 'ack', id: 3, data: { left: ['a'] } })
  t.same(leaves, [`${id}:a`])
  t.same((await app.roomcast.rooms.list()).sort(), ['b', 'c'], 'the emptied room is deleted')
  t.equal(await app.roomcast.rooms.size('a'), 0)
  t.same(await app.roomcast.rooms.members('a'), [])

  client.send({ event: 'join', data: { rooms: ['d'] } })
  await until(async () => (await app.roomcast.rooms.size('d')) === 1)
  await settle(app, [client])
  t.equal(client.all('ack').length, 3, 'no ack without an id')
})

t.test('invalid join and leave requests get invalid_room with the failing paths', async (t) => {
  const { app, url } = await startServer({})
  t.teardown(() => app.close())
  const { client } = await connect(url)
  t.teardown(() => client.close())
  const cases: Array<[unknown, Array<{ path: string; message: string }>]> = [
    [undefined, [{ path: '/', message: 'Expected object' }]],
    [{ rooms: [] }, [{ path: '/rooms', message: 'Expected array length to be greater or equal to 1' }]],
    [{ rooms: [''] }, [{ path: '/rooms/0', message: 'Expected string length greater or equal to 1' }]],
    [{ rooms: ['ok', 'x'.repeat(201)] }, [{ path: '/rooms/1', message: 'Expected string length less or equal to 200' }]],
    [{ rooms: 'lobby' }, [{ path: '/rooms', message: 'Expected array' }]],
    [{ rooms: [7] }, [{ path: '/rooms/0', message: 'Expected string' }]],
    // Control characters are refused: names starting with one are other protocols' (Pusher channels').
    [
      { rooms: ['ok', '\u0000pusher:app-id:news', 'tab\there'] },
      [
        { path: '/rooms/1', message: "Expected string to match '^[^\\u0000-\\u001f\\u007f]*$'" },
        { path: '/rooms/2', message: "Expected string to match '^[^\\u0000-\\u001f\\u007f]*$'" },
      ],
    ],
    [{ rooms: ['a'], extra: true }, [{ path: '/extra', message: 'Unexpected property' }]],
    [{ rooms: Array.from({ length: 101 }, (_, i) => `r${i}`) }, [{ path: '/rooms', message: 'Expected array length to be less or equal to 100' }]],
  ]
  let id = 0
  for (const [data, details] of cases) {
    id++
    t.same(
      await client.request('join', data),
      { event: 'error', id, data: { code: 'invalid_room', message: invalidRoomMessage, event: 'join', details } },
      JSON.stringify(data)?.slice(0, 40),
    )
  }
  t.same(await client.request('leave', { rooms: [''] }), {
    event: 'error',
    id: id + 1,
    data: {
      code: 'invalid_room',
      message: 'leave expects { rooms: string[] }',
      event: 'leave',
      details: [{ path: '/rooms/0', message: 'Expected string length greater or equal to 1' }],
    },
  })
  t.same(await app.roomcast.rooms.list(), [])
  t.equal(client.closed, undefined)
})

t.test('authorizeJoin: a subset, true, false', async (t) => {
  const asked: Array<{ id: string; rooms: string[] }> = []
  const authorizeJoin = async ({ connection, rooms }: JoinRequest<AnyEvents>): Promise<string[] | boolean> => {
    asked.push({ id: connection.id, rooms })
    if (rooms.includes('all-or-nothing')) return rooms.length === 1
    if (rooms.includes('everything')) return true
    return rooms.filter((room) => room.startsWith('public-'))
  }
  const { app, url } = await startServer({ authorizeJoin })
  t.teardown(() => app.close())
  const { client, connected } = await connect(url)
  t.teardown(() => client.close())
  const id = connected.data.connectionId as string

  t.same(await client.request('join', { rooms: ['public-1', 'private-1', 'public-2'] }), {
    event: 'ack',
    id: 1,
    data: { joined: ['public-1', 'public-2'], refused: ['private-1'] },
  })
  t.same(await client.request('join', { rooms: ['private-1', 'private-2'] }), {
    event: 'error',
    id: 2,
    data: { code: 'join_refused', message: 'not allowed to join private-1, private-2', event: 'join' },
  })
  t.same(await client.request('join', { rooms: ['everything', 'secret'] }), { event: 'ack', id: 3, data: { joined: ['everything', 'secret'], refused: [] } })
  t.same(await client.request('join', { rooms: ['all-or-nothing', 'x'] }), {
    event: 'error',
    id: 4,
    data: { code: 'join_refused', message: 'not allowed to join all-or-nothing, x', event: 'join' },
  })
  t.same(await client.request('join', { rooms: ['all-or-nothing'] }), { event: 'ack', id: 5, data: { joined: ['all-or-nothing'], refused: [] } })
  // Rooms the connection is already in are not asked about again.
  t.same(await client.request('join', { rooms: ['public-1', 'secret'] }), { event: 'ack', id: 6, data: { joined: ['public-1', 'secret'], refused: [] } })
  t.same(asked, [
    { id, rooms: ['public-1', 'private-1', 'public-2'] },
    { id, rooms: ['private-1', 'private-2'] },
    { id, rooms: ['everything', 'secret'] },
    { id, rooms: ['all-or-nothing', 'x'] },
    { id, rooms: ['all-or-nothing'] },
  ])
  t.same((await app.roomcast.rooms.list()).sort(), ['all-or-nothing', 'everything', 'public-1', 'public-2', 'secret'])
})

t.test('authorizeJoin that throws answers handler_error and joins nothing', async (t) => {
  const { app, url } = await startServer({
    authorizeJoin: () => {
      throw new Error('acl service down')
    },
  })
  t.teardown(() => app.close())
  const { client } = await connect(url)
  t.teardown(() => client.close())
  t.same(await client.request('join', { rooms: ['a'] }), {
    event: 'error',
    id: 1,
    data: { code: 'handler_error', message: 'the handler of "join" failed', event: 'join' },
  })
  t.same(await app.roomcast.rooms.list(), [])
})

t.test('maxRoomsPerConnection: past it, room_limit', async (t) => {
  const { app, url } = await startServer({ maxRoomsPerConnection: 3 })
  t.teardown(() => app.close())
  const { client } = await connect(url)
  t.teardown(() => client.close())
  t.same((await client.request('join', { rooms: ['a', 'b'] })).data, { joined: ['a', 'b'], refused: [] })
  t.same(await client.request('join', { rooms: ['c', 'd'] }), {
    event: 'error',
    id: 2,
    data: { code: 'room_limit', message: 'a connection may be in at most 3 rooms', event: 'join' },
  })
  t.same((await client.request('join', { rooms: ['a', 'c'] })).data, { joined: ['a', 'c'], refused: [] }, 'rooms already joined do not count twice')
  t.same((await client.request('join', { rooms: ['a'] })).data, { joined: ['a'], refused: [] })
  t.equal((await client.request('join', { rooms: ['d'] })).data.code, 'room_limit')
  t.same((await client.request('leave', { rooms: ['b'] })).data, { left: ['b'] })
  t.same((await client.request('join', { rooms: ['d'] })).data, { joined: ['d'], refused: [] })
})

t.test('maxRoomsPerConnection holds under concurrent joins with a slow authorizeJoin', async (t) => {
  const { app, url } = await startServer({
    maxRoomsPerConnection: 2,
    authorizeJoin: async ({ rooms }) => {
      await delay(20)
      return rooms
    },
  })
  t.teardown(() => app.close())
  const { client, connected } = await connect(url)
  t.teardown(() => client.close())
  const replies = await Promise.all([client.request('join', { rooms: ['a', 'b'] }), client.request('join', { rooms: ['c', 'd'] })])
  t.same(replies.map((reply) => reply.event).sort(), ['ack', 'error'])
  t.equal(replies.find((reply) => reply.event === 'error')?.data.code, 'room_limit')
  t.equal(app.roomcast.connections.get(connected.data.connectionId)!.rooms.size, 2)
})

t.test('defaultRooms are joined before connected and listed in it', async (t) => {
  const joins: string[] = []
  const { app, url } = await startServer({
    ...byName,
    defaultRooms: async (connection) => ['lobby', `user:${connection.userId}`],
  })
  app.roomcast.addHook('join', (_connection, room) => {
    joins.push(room)
  })
  t.teardown(() => app.close())
  const { client, connected } = await connect(url, { user: 'ann' })
  t.teardown(() => client.close())
  t.same(connected.data.rooms, ['lobby', 'user:ann'])
  t.same(joins, ['lobby', 'user:ann'])
  t.same(await app.roomcast.rooms.members('user:ann'), [{ connectionId: connected.data.connectionId, userId: 'ann' }])
})

t.test('server-side rooms.join / rooms.leave by connection id', async (t) => {
  const { app, url } = await startServer({})
  t.teardown(() => app.close())
  const { client, connected } = await connect(url)
  t.teardown(() => client.close())
  const id = connected.data.connectionId as string
  t.equal(await app.roomcast.rooms.join(id, ['x', 'y']), 1)
  t.equal(await app.roomcast.rooms.join('00000000-0000-4000-8000-000000000000', 'x'), 0, 'an unknown id affects nothing')
  t.same((await app.roomcast.rooms.list()).sort(), ['x', 'y'])
  app.roomcast.rooms.to('x').emit('hello', 'there')
  t.same(await client.next('hello'), { event: 'hello', data: 'there', room: 'x' })
  t.equal(await app.roomcast.rooms.leave(id, 'x'), 1)
  t.same(await app.roomcast.rooms.list(), ['y'])
  // The Connection object offers the same.
  const connection = app.roomcast.connections.get(id)!
  connection.join('z')
  t.same([...connection.rooms].sort(), ['y', 'z'])
  connection.leave('y', 'z')
  t.same(await app.roomcast.rooms.list(), [])
  // Each change the server made was told to the client, with what actually changed.
  await until(() => client.all('membership').length === 4)
  t.same(
    client.all('membership').map((frame) => frame.data),
    [
      { joined: ['x', 'y'], left: [] },
      { joined: [], left: ['x'] },
      { joined: ['z'], left: [] },
      { joined: [], left: ['y', 'z'] },
    ],
  )
})

t.test('defaultRooms that fails or answers garbage: the connection still comes up, and the failure is logged', async (t) => {
  const cases: Array<{ defaultRooms: () => unknown; rooms: string[]; logged: boolean }> = [
    { defaultRooms: () => Promise.reject(new Error('lookup down')), rooms: [], logged: true },
    { defaultRooms: () => null, rooms: [], logged: true },
    { defaultRooms: () => ['ok', 7, ''], rooms: ['ok'], logged: false },
  ]
  for (const { defaultRooms, rooms, logged } of cases) {
    const lines: string[] = []
    const app = Fastify({ logger: { level: 'error', stream: { write: (line: string) => lines.push(line) } } })
    await app.register(roomcast, { ...byName, defaultRooms } as unknown as RoomcastOptions<RegisteredEvents>)
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as AddressInfo
    const { client, connected } = await connect(`ws://127.0.0.1:${port}/ws`, { user: 'ann' })
    t.same(connected.data.rooms, rooms)
    t.equal(
      lines.some((line) => line.includes('defaultRooms failed')),
      logged,
    )
    client.close()
    await app.close()
  }
})

t.test('rooms.to(room).except(id) reaches every member but the excepted ones, and nobody outside', async (t) => {
  const { app, url } = await startServer({})
  t.teardown(() => app.close())
  const clients = await Promise.all([connect(url), connect(url), connect(url), connect(url)])
  t.teardown(() => clients.forEach(({ client }) => client.close()))
  const [a, b, c, outsider] = clients.map(({ client }) => client) as [RawClient, RawClient, RawClient, RawClient]
  const ids = clients.map(({ connected }) => connected.data.connectionId as string)
  for (const client of [a, b, c]) await client.request('join', { rooms: ['room'] })

  app.roomcast.rooms.to('room').except(ids[1]!).emit('msg', { text: 'not for b' })
  app.roomcast.rooms.to('room').except([ids[0]!, ids[2]!]).emit('msg', { text: 'only b' })
  await settle(app, [a, b, c, outsider])
  t.same(a.all('msg'), [{ event: 'msg', data: { text: 'not for b' }, room: 'room' }])
  t.same(b.all('msg'), [{ event: 'msg', data: { text: 'only b' }, room: 'room' }])
  t.same(c.all('msg'), [{ event: 'msg', data: { text: 'not for b' }, room: 'room' }])
  t.same(outsider.all('msg'), [])
})

t.test('to([a, b]) reaches a socket in both rooms once', async (t) => {
  const { app, url } = await startServer({})
  t.teardown(() => app.close())
  const [both, onlyA, onlyB] = (await Promise.all([connect(url), connect(url), connect(url)])).map(({ client }) => client) as [RawClient, RawClient, RawClient]
  t.teardown(() => [both, onlyA, onlyB].forEach((client) => client.close()))
  await both.request('join', { rooms: ['a', 'b'] })
  await onlyA.request('join', { rooms: ['a'] })
  await onlyB.request('join', { rooms: ['b'] })

  app.roomcast.rooms.to(['a', 'b']).emit('msg', 1)
  app.roomcast.rooms.to('a').to('b').emit('msg', 2)
  await settle(app, [both, onlyA, onlyB])
  t.same(both.all('msg'), [
    { event: 'msg', data: 1, room: 'a' },
    { event: 'msg', data: 2, room: 'a' },
  ])
  t.same(onlyA.all('msg'), [
    { event: 'msg', data: 1, room: 'a' },
    { event: 'msg', data: 2, room: 'a' },
  ])
  t.same(onlyB.all('msg'), [
    { event: 'msg', data: 1, room: 'b' },
    { event: 'msg', data: 2, room: 'b' },
  ])
})

t.test('members, size, list and users (distinct users); a room empties when its last member leaves or closes', async (t) => {
  const { app, url } = await startServer(byName)
  t.teardown(() => app.close())
  const ann1 = await connect(url, { user: 'ann' })
  const ann2 = await connect(url, { user: 'ann' })
  const ben = await connect(url, { user: 'ben' })
  t.teardown(() => [ann1, ann2, ben].forEach(({ client }) => client.close()))
  for (const { client } of [ann1, ann2, ben]) await client.request('join', { rooms: ['r'] })
  await ben.client.request('join', { rooms: ['solo'] })
  const idOf = (c: typeof ann1): string => c.connected.data.connectionId

  t.equal(await app.roomcast.rooms.size('r'), 3)
  t.same(
    (await app.roomcast.rooms.members('r')).sort((x, y) => x.connectionId.localeCompare(y.connectionId)),
    [
      { connectionId: idOf(ann1), userId: 'ann' },
      { connectionId: idOf(ann2), userId: 'ann' },
      { connectionId: idOf(ben), userId: 'ben' },
    ].sort((x, y) => x.connectionId.localeCompare(y.connectionId)),
  )
  t.same((await app.roomcast.rooms.users('r')).sort(), ['ann', 'ben'])
  t.same((await app.roomcast.rooms.list()).sort(), ['r', 'solo'])
  t.same(await app.roomcast.rooms.members('nowhere'), [])
  t.equal(await app.roomcast.rooms.size('nowhere'), 0)
  t.same(await app.roomcast.rooms.users('nowhere'), [])

  ben.client.ws.close(1000, 'bye')
  await ben.client.whenClosed()
  await until(async () => (await app.roomcast.rooms.size('r')) === 2)
  t.same(await app.roomcast.rooms.list(), ['r'], 'closing removes the socket from every room; solo is deleted')
  t.same(await app.roomcast.rooms.users('r'), ['ann'])
  await ann1.client.request('leave', { rooms: ['r'] })
  await ann2.client.request('leave', { rooms: ['r'] })
  t.same(await app.roomcast.rooms.list(), [])
})

t.test('a server-side join does not count a connection that has not authenticated', async (t) => {
  const { app, url } = await startServer({ authenticate: () => ({ userId: 'u' }) })
  t.teardown(() => app.close())
  const client = await RawClient.open(url)
  t.teardown(() => client.close())
  await until(() => app.roomcast.connections.count() === 1)
  const [pending] = [...app.roomcast.connections]
  t.equal(await app.roomcast.rooms.join(pending!.id, 'lobby'), 0)
  t.equal(pending!.rooms.size, 0)
  t.equal(await app.roomcast.rooms.size('lobby'), 0)
})
