import type WebSocket from 'ws'
import t from 'tap'
import { connect, socketOf, startServer, within, type RawClient } from '../helpers/server.js'

const byName = { authenticate: (data: unknown) => ({ userId: (data as { user: string }).user }) }

/**
 * Sends a close frame and then stalls: the client stops reading, so it never sees the server's
 * close frame or FIN and never finishes the TCP close (ws's `close` event on the server would
 * wait for its 30 s close timer).
 */
function closeAndStall(client: RawClient): void {
  client.ws.pause()
  client.ws.close(1000, 'bye')
}

/** Ends a client whatever its state (a stalled one keeps ws's 30 s close timer otherwise). */
function terminate(client: RawClient): void {
  client.ws.terminate()
}

t.test('a connection leaves its rooms, presence and counts as soon as its close frame arrives', async (t) => {
  const { app, url } = await startServer({ ...byName, presenceEvents: true, closeGracePeriod: 100 })
  t.teardown(() => app.close())
  const sockets = new Map<string, WebSocket>()
  app.roomcast.addHook('connection', (connection) => {
    sockets.set(connection.id, socketOf(connection))
  })
  const watcher = (await connect(url, { user: 'watcher' })).client
  const { client: leaver, connected } = await connect(url, { user: 'leaver' })
  t.teardown(() => [watcher, leaver].forEach(terminate))
  await watcher.request('join', { rooms: ['r'] })
  await leaver.request('join', { rooms: ['r'] })
  t.equal(await app.roomcast.rooms.size('r'), 2)

  const leaverId = (connected.data as { connectionId: string }).connectionId
  const disconnected = new Promise<{ code: number; reason: string; socketClosed: boolean }>((resolve) => {
    app.roomcast.addHook('disconnect', (connection, info) => {
      const ws = sockets.get(connection.id)!
      if (connection.id === leaverId) resolve({ ...info, socketClosed: ws.readyState === ws.CLOSED })
    })
  })
  const presenceLeave = watcher.next((frame) => frame.event === 'presence' && (frame.data as { action: string }).action === 'leave')
  closeAndStall(leaver)

  t.same(
    await within(disconnected, 5_000, 'the connection was not removed on its close frame'),
    { code: 1000, reason: 'bye', socketClosed: false },
    'removed while its TCP close is still under way',
  )
  t.equal(await app.roomcast.rooms.size('r'), 1)
  t.same(
    (await app.roomcast.rooms.members('r')).map((member) => member.userId),
    ['watcher'],
  )
  t.equal(await app.roomcast.users.online('leaver'), false)
  t.equal(app.roomcast.connections.count(), 1)
  t.same((await presenceLeave).data, { room: 'r', userId: 'leaver', action: 'leave' })
})

t.test('shutdown still waits for, and cuts, a socket whose peer stalled after its close frame', async (t) => {
  const { app, url } = await startServer({ ...byName, closeGracePeriod: 100 })
  const { client } = await connect(url, { user: 'leaver' })
  t.teardown(() => terminate(client))
  const removed = new Promise<void>((resolve) => app.roomcast.addHook('disconnect', () => resolve()))
  closeAndStall(client)
  await within(removed, 5_000, 'the connection was not removed on its close frame')
  t.equal(app.roomcast.connections.count(), 0)
  // ws's own close timer would hold the socket (and with it server.close()) for 30 s.
  await within(app.close(), 5_000, 'app.close() waited for the stalled socket')
})
