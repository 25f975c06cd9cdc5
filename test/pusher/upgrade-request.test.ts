import t from 'tap'
import { collectable } from '../helpers/gc.js'
import { rawPusher, startPusherServer } from '../helpers/pusher.js'

t.test('an open Pusher connection lets go of its upgrade request', async (t) => {
  const upgrades: WeakRef<object>[] = []
  const server = await startPusherServer({}, (app) => {
    app.addHook('onRequest', (request, _reply, done) => {
      upgrades.push(new WeakRef(request), new WeakRef(request.raw))
      done()
    })
  })
  t.teardown(() => server.app.close())
  const { client, socketId } = await rawPusher(server.url())
  t.teardown(() => client.ws.terminate())
  client.send({ event: 'pusher:subscribe', data: { channel: 'news' } })
  await client.next((frame) => frame.event === 'pusher_internal:subscription_succeeded')

  const session = server.app.roomcast.pusher!.session(socketId)!
  t.match(session.connection.request.url, /^\/app\/app-key\?protocol=7/)
  t.equal(session.connection.request.headers.upgrade, 'websocket')
  t.equal(upgrades.length, 2)
  t.ok(await collectable(upgrades), 'the Fastify request and the IncomingMessage are collected')
  t.equal(session.connection.state, 'authenticated', 'while the connection is open')
  client.send({ event: 'pusher:ping', data: {} })
  await client.next('pusher:pong')
})
