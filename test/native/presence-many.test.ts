import t from 'tap'
import type { PresenceChange } from '../../plugin/hub/hooks.js'
import { connectMany, startServer, until } from '../helpers/server.js'

const byName = { authenticate: (data: unknown) => ({ userId: (data as { user: string }).user }) }

t.test("a user's many connections: presence joins with the first in a room and leaves with the last out", async (t) => {
  const { app, url } = await startServer(byName)
  t.teardown(() => app.close())
  const changes: PresenceChange[] = []
  app.roomcast.addHook('presence', (change) => {
    changes.push(change)
  })
  const sockets = await connectMany(url, 6, () => ({ user: 'many' }))
  t.teardown(() => sockets.forEach(({ client }) => client.ws.terminate()))

  for (const { client } of sockets) await client.request('join', { rooms: ['a', 'b'] })
  await until(() => changes.length === 2, 5000, 'two presence joins')
  t.same(changes, [
    { room: 'a', userId: 'many', action: 'join' },
    { room: 'b', userId: 'many', action: 'join' },
  ])
  t.same(await app.roomcast.rooms.users('a'), ['many'])

  // Leaving, by request or by closing, one connection at a time: no change until the last is out.
  await sockets[0]!.client.request('leave', { rooms: ['a'] })
  await sockets[0]!.client.request('join', { rooms: ['a'] })
  await sockets[1]!.client.request('leave', { rooms: ['a', 'b'] })
  for (const { client } of sockets.slice(2, 5)) client.ws.close(1000)
  await until(async () => (await app.roomcast.rooms.size('a')) === 2, 5000, 'three closes')
  t.equal(changes.length, 2, 'still present while any connection of the user is in the room')

  await sockets[5]!.client.request('leave', { rooms: ['a'] })
  await sockets[0]!.client.request('leave', { rooms: ['a'] })
  await until(() => changes.length === 3, 5000, 'the leave of a')
  t.same(changes[2], { room: 'a', userId: 'many', action: 'leave' })

  // Back in after everyone left is a new join; the last close leaves b.
  await sockets[5]!.client.request('join', { rooms: ['a'] })
  await until(() => changes.length === 4, 5000, 'a joined again')
  sockets[0]!.client.ws.close(1000)
  sockets[5]!.client.ws.close(1000)
  await until(() => changes.length === 6, 5000, 'the last connection closed')
  t.same(
    changes.slice(3).sort((x, y) => `${x.room}${x.action}`.localeCompare(`${y.room}${y.action}`)),
    [
      { room: 'a', userId: 'many', action: 'join' },
      { room: 'a', userId: 'many', action: 'leave' },
      { room: 'b', userId: 'many', action: 'leave' },
    ],
  )
  t.same(await app.roomcast.rooms.users('b'), [])
})
