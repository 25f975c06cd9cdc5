import type { FastifyRequest } from 'fastify'
import t from 'tap'
import WebSocket from 'ws'
import { collectable } from '../helpers/gc.js'
import { connect, startServer, until } from '../helpers/server.js'

t.test('an open native connection keeps the upgrade URL, headers and logger, and lets go of the request', async (t) => {
  const upgrades: WeakRef<object>[] = []
  let authenticatedWith: FastifyRequest | undefined
  const { app, url } = await startServer(
    {
      authenticate: (data, request) => {
        authenticatedWith = request
        return { userId: String((data as { user: string }).user) }
      },
    },
    (app) => {
      app.addHook('onRequest', (request, _reply, done) => {
        upgrades.push(new WeakRef(request), new WeakRef(request.raw))
        done()
      })
    },
  )
  t.teardown(() => app.close())
  const { client, connected } = await connect(`${url}?room=a`, { user: 'ann' })
  t.teardown(() => client.close())
  // The in-band hook still gets the whole Fastify request.
  t.equal(authenticatedWith?.raw.url, '/ws?room=a')
  authenticatedWith = undefined

  const connection = app.roomcast.connections.get(connected.data.connectionId)!
  t.same(Object.keys(connection.request).sort(), ['headers', 'url'])
  t.equal(connection.request.url, '/ws?room=a')
  t.equal(connection.request.headers.upgrade, 'websocket')
  t.type(connection.log.warn, 'function')
  t.equal(upgrades.length, 2)
  t.ok(await collectable(upgrades), 'the Fastify request and the IncomingMessage are collected')
  t.equal(connection.state, 'authenticated', 'while the connection is open')
  t.match((await client.request('join', { rooms: ['lobby'] })).data, { joined: ['lobby'] })
})

t.test('a connection that closes before it authenticates is let go at once, not held until authTimeout', async (t) => {
  const held: WeakRef<object>[] = []
  const { app, url } = await startServer({ authenticate: (data) => ({ userId: String((data as { user: string }).user) }), authTimeout: 60_000 }, (app) => {
    app.roomcast.addHook('connection', (connection) => {
      held.push(new WeakRef(connection), new WeakRef(connection.sink))
    })
  })
  t.teardown(() => app.close())
  const silent = await Promise.all([1, 2, 3].map(() => openSocket(url)))
  const authenticated = await connect(url, { user: 'ann' })
  await until(() => held.length === 8, 5000, 'four connections')
  for (const socket of silent) socket.close(1000)
  authenticated.client.ws.close(1000)
  await until(() => app.roomcast.connections.count() === 0, 5000, 'every connection gone')
  t.ok(await collectable(held), 'connections and their sinks are collected long before the 60 s deadline')
})

function openSocket(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url)
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(socket))
    socket.once('error', reject)
  })
}
