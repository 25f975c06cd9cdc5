import t from 'tap'
import { RawClient, connect, startServer, until } from '../helpers/server.js'

const byName = { authenticate: (data: unknown) => ({ userId: (data as { user: string }).user }) }

async function settle(app: Awaited<ReturnType<typeof startServer>>['app'], clients: RawClient[]): Promise<void> {
  const marker = Math.random()
  app.roomcast.broadcast('marker', marker)
  await Promise.all(clients.map((client) => client.next((f) => f.event === 'marker' && f.data === marker)))
}

t.test('a user with several sockets: users.to, online, connectionsOf, join, disconnect', async (t) => {
  const disconnects: Array<{ user: string | undefined; code: number; reason: string }> = []
  const { app, url } = await startServer(byName)
  app.roomcast.addHook('disconnect', (connection, info) => {
    disconnects.push({ user: connection.userId, ...info })
  })
  t.teardown(() => app.close())
  const ann = await Promise.all([connect(url, { user: 'ann' }), connect(url, { user: 'ann' }), connect(url, { user: 'ann' })])
  const ben = await connect(url, { user: 'ben' })
  const all = [...ann.map(({ client }) => client), ben.client]
  t.teardown(() => all.forEach((client) => client.close()))
  const annIds = ann.map(({ connected }) => connected.data.connectionId as string)

  app.roomcast.users.to('ann').emit('dm', { text: 'hi ann' })
  app.roomcast.users.to(['ann', 'ben']).except(annIds[0]!).emit('dm', { text: 'both' })
  await settle(app, all)
  t.same(ann[0]!.client.all('dm'), [{ event: 'dm', data: { text: 'hi ann' } }])
  t.same(ann[1]!.client.all('dm'), [
    { event: 'dm', data: { text: 'hi ann' } },
    { event: 'dm', data: { text: 'both' } },
  ])
  t.same(ann[2]!.client.all('dm'), [
    { event: 'dm', data: { text: 'hi ann' } },
    { event: 'dm', data: { text: 'both' } },
  ])
  t.same(ben.client.all('dm'), [{ event: 'dm', data: { text: 'both' } }])

  t.equal(await app.roomcast.users.online('ann'), true)
  t.equal(await app.roomcast.users.online('nobody'), false)
  t.same((await app.roomcast.users.connectionsOf('ann')).sort(), [...annIds].sort())
  t.same(await app.roomcast.users.connectionsOf('nobody'), [])

  t.equal(await app.roomcast.users.join('ann', ['team']), 3)
  t.same(await app.roomcast.rooms.users('team'), ['ann'])
  t.equal(await app.roomcast.rooms.size('team'), 3)
  t.equal(await app.roomcast.users.leave('ann', 'team'), 3)
  t.same(await app.roomcast.rooms.list(), [])

  // One socket goes away: the user is still online through the others.
  ann[2]!.client.ws.close(1000, 'tab closed')
  await until(async () => (await app.roomcast.users.connectionsOf('ann')).length === 2)
  t.same(disconnects, [{ user: 'ann', code: 1000, reason: 'tab closed' }])

  t.equal(await app.roomcast.users.disconnect('ann'), 2)
  for (const { client } of ann.slice(0, 2)) t.same(await client.whenClosed(), { code: 4004, reason: 'disconnected by the server' })
  t.equal(await app.roomcast.users.online('ann'), false)
  t.equal(ben.client.closed, undefined)
  t.equal(await app.roomcast.users.disconnect('ben', 4100, 'account deleted'), 1)
  t.same(await ben.client.whenClosed(), { code: 4100, reason: 'account deleted' })
  t.equal(app.roomcast.connections.count(), 0)
})

t.test('broadcast reaches every authenticated connection and no unauthenticated one', async (t) => {
  const { app, url } = await startServer(byName)
  t.teardown(() => app.close())
  const ann = await connect(url, { user: 'ann' })
  const ben = await connect(url, { user: 'ben' })
  const stranger = await RawClient.open(url)
  t.teardown(() => [ann.client, ben.client, stranger].forEach((client) => client.close()))

  app.roomcast.broadcast('announce', { text: 'maintenance at noon' })
  app.roomcast.emitter.all().except(ben.connected.data.connectionId).emit('announce', { text: 'not ben' })
  await settle(app, [ann.client, ben.client])
  t.same(ann.client.all('announce'), [
    { event: 'announce', data: { text: 'maintenance at noon' } },
    { event: 'announce', data: { text: 'not ben' } },
  ])
  t.same(ben.client.all('announce'), [{ event: 'announce', data: { text: 'maintenance at noon' } }])

  // The stranger authenticates now; it sees broadcasts from here on, none from before.
  await stranger.request('authenticate', { user: 'cid' })
  await settle(app, [stranger])
  t.same(stranger.all('announce'), [])
  t.same(
    stranger.frames.map((frame) => frame.event),
    ['connected', 'marker'],
  )
})

t.test('users.to and connections.send do not reach a connection before it authenticates', async (t) => {
  const { app, url } = await startServer(byName)
  t.teardown(() => app.close())
  const pending = await RawClient.open(url)
  t.teardown(() => pending.close())
  await until(() => app.roomcast.connections.count() === 1)
  const [connection] = [...app.roomcast.connections]
  app.roomcast.connections.send(connection!.id, 'early', 1)
  const connected = await pending.request('authenticate', { user: 'dee' })
  app.roomcast.connections.send(connection!.id, 'later', 2)
  app.roomcast.users.to('dee').emit('later', 3)
  await pending.next((f) => f.event === 'later' && f.data === 3)
  t.same(pending.frames, [connected, { event: 'later', data: 2 }, { event: 'later', data: 3 }])
})
