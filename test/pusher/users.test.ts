import t from 'tap'
import { until } from '../helpers/server.js'
import { APP, connected, nextText, once, pusherJs, rawPusher, startPusherServer, whenState } from '../helpers/pusher.js'

interface PusherError {
  type: string
  data: { code: number | null; message: string }
}

t.test('pusher-js signs in, gets server-to-user events, and is terminated with 4009', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const pusher = server.app.roomcast.pusher!
  const tab1 = pusherJs(server, { user: { id: 'u1', name: 'Ann' } })
  const tab2 = pusherJs(server, { user: { id: 'u1', name: 'Ann' } })
  const other = pusherJs(server, { user: { id: 'u2' } })
  t.teardown(() => [tab1, tab2, other].forEach((c) => c.disconnect()))
  await Promise.all([tab1, tab2, other].map(connected))
  for (const client of [tab1, tab2, other]) client.signin()
  await until(() => [tab1, tab2, other].every((c) => c.user.user_data !== null && c.user.serverToUserChannel?.subscribed === true), 5000, 'signed in')
  t.same(tab1.user.user_data, { id: 'u1', name: 'Ann' })

  const got1 = once(tab1.user, 'notice')
  const got2 = once(tab2.user, 'notice')
  let leaked = false
  other.user.bind('notice', () => {
    leaked = true
  })
  await pusher.sendToUser(APP.id, 'u1', 'notice', { text: 'hello' })
  t.same(await got1, { text: 'hello' })
  t.same(await got2, { text: 'hello' })

  // Signed-in Pusher users live in the app's namespace: the native users API does not see them.
  t.same(await server.app.roomcast.users.connectionsOf('u1'), [])

  const errors = [once<PusherError>(tab1.connection, 'error'), once<PusherError>(tab2.connection, 'error')]
  const ended = [whenState(tab1, 'disconnected'), whenState(tab2, 'disconnected')]
  const terminated = await pusher.terminateUserConnections(APP.id, 'u1')
  t.equal(terminated.value, 2)
  for (const error of await Promise.all(errors)) t.same(error.data, { code: 4009, message: 'You got disconnected by the app.' })
  await Promise.all(ended)
  t.equal(other.connection.state, 'connected', 'other users stay')
  t.equal(leaked, false, 'u2 never saw u1 events')
})

t.test('raw sign-in frames: pusher:signin_success with string data; bad signatures and missing ids close with 4009', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const sdk = server.sdk()

  const { client, socketId } = await rawPusher(server.url())
  t.teardown(() => client.close())
  const signed = sdk.authenticateUser(socketId, { id: 'u1', name: 'A' })
  const success = nextText(client.ws, (text) => text.includes('signin_success'))
  client.send({ event: 'pusher:signin', data: signed })
  t.equal(await success, JSON.stringify({ event: 'pusher:signin_success', data: JSON.stringify({ user_data: signed.user_data }) }))
  client.send({ event: 'pusher:subscribe', data: { channel: '#server-to-user-u1' } })
  t.same(await client.next('pusher_internal:subscription_succeeded'), {
    event: 'pusher_internal:subscription_succeeded',
    channel: '#server-to-user-u1',
    data: '{}',
  })
  const toUser = nextText(client.ws, (text) => text.includes('to-user'))
  await server.app.roomcast.pusher!.sendToUser(APP.id, 'u1', 'to-user', { x: 1 })
  t.equal(await toUser, '{"event":"to-user","channel":"#server-to-user-u1","data":"{\\"x\\":1}"}')

  const forged = await rawPusher(server.url())
  t.teardown(() => forged.client.close())
  forged.client.send({ event: 'pusher:signin', data: { user_data: signed.user_data, auth: signed.auth } })
  t.same(await forged.client.next('pusher:error'), { event: 'pusher:error', data: { code: 4009, message: 'Connection not authorized.' } })
  t.equal((await forged.client.whenClosed()).code, 4009, 'a signature made for another socket is refused')

  const anonymous = await rawPusher(server.url())
  t.teardown(() => anonymous.client.close())
  const noId = sdk.authenticateUser(anonymous.socketId, { id: 'tmp' })
  const userData = '{"name":"nobody"}'
  const auth =
    noId.auth.split(':')[0] +
    ':' +
    (await import('node:crypto')).createHmac('sha256', APP.secret).update(`${anonymous.socketId}::user::${userData}`).digest('hex')
  anonymous.client.send({ event: 'pusher:signin', data: { user_data: userData, auth } })
  t.equal((await anonymous.client.next('pusher:error')).data.code, 4009)
  t.equal((await anonymous.client.whenClosed()).code, 4009)
})

t.test('an app that requires sign-in closes silent connections with 4009; a sign-in or a private subscription in time keeps them', async (t) => {
  const strict = { ...APP, enableUserAuthentication: true }
  const server = await startPusherServer({ apps: [strict], pusher: { apps: [strict], userAuthenticationTimeout: 200 } })
  t.teardown(() => server.app.close())

  const idle = pusherJs(server, {}, strict)
  t.teardown(() => idle.disconnect())
  const error = once<PusherError>(idle.connection, 'error', 5000)
  await connected(idle)
  t.same((await error).data, { code: 4009, message: 'Connection not authorized within timeout.' })
  await whenState(idle, 'disconnected')

  const signer = pusherJs(server, { user: { id: 'u9' } }, strict)
  const privateOnly = pusherJs(server, {}, strict)
  t.teardown(() => [signer, privateOnly].forEach((c) => c.disconnect()))
  await Promise.all([connected(signer), connected(privateOnly)])
  signer.signin()
  await once(privateOnly.subscribe('private-ok'), 'pusher:subscription_succeeded')
  await until(() => signer.user.user_data !== null, 5000, 'signed in')
  // Long past the timeout, both are still on their first socket.
  const ids = [signer.connection.socket_id, privateOnly.connection.socket_id]
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.same([signer.connection.socket_id, privateOnly.connection.socket_id], ids)
  t.equal(signer.connection.state, 'connected')
  t.equal(privateOnly.connection.state, 'connected')
})

t.test('presence without channel_data for a signed-in user ("authorized connections")', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const sdk = server.sdk()
  const { client, socketId } = await rawPusher(server.url())
  t.teardown(() => client.close())
  client.send({ event: 'pusher:signin', data: sdk.authenticateUser(socketId, { id: 'u5', user_info: { name: 'Five' } }) })
  await client.next('pusher:signin_success')
  client.send({ event: 'pusher:subscribe', data: { channel: 'presence-x', auth: sdk.authorizeChannel(socketId, 'presence-x').auth } })
  const succeeded = await client.next('pusher_internal:subscription_succeeded')
  t.same(JSON.parse(succeeded.data as string), { presence: { ids: ['u5'], hash: { u5: { name: 'Five' } }, count: 1 } })
})
