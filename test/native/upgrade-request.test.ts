import type { FastifyRequest } from 'fastify'
import t from 'tap'
import { collectable } from '../helpers/gc.js'
import { connect, startServer } from '../helpers/server.js'

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
