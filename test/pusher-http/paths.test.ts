import type { PresenceChannel } from 'pusher-js'
import t from 'tap'
import { until } from '../helpers/server.js'
import { APP, connected, once, pusherJs, startPusherServer, whenState } from '../helpers/pusher.js'
import { sdkError, signedFetch, signedUrl } from '../helpers/pusher-http.js'

/**
 * Paths of every valid length reach their routes, whatever Fastify's `maxParamLength` (100 by
 * default); paths that cannot be decoded, and bodies that are not JSON, get the API's own
 * `{ error, code }` answers, in the documented order.
 */

t.test('channels of 150 and 200 characters and a user id of 120 work through the real SDK', async (t) => {
  const wide = { ...APP, maxChannelNameLength: 200 }
  const server = await startPusherServer({ apps: [wide], pusher: { apps: [wide] } })
  t.teardown(() => server.app.close())
  const sdk = server.sdk(wide)
  const userId = 'u'.repeat(120)
  const channel150 = 'c'.repeat(150)
  const channel200 = 'presence-' + 'p'.repeat(191)
  t.equal(channel200.length, 200)

  const client = pusherJs(server, { presence: () => ({ user_id: userId, user_info: { n: 1 } }), user: { id: userId } }, wide)
  t.teardown(() => client.disconnect())
  await connected(client)
  const long = client.subscribe(channel150)
  await once(long, 'pusher:subscription_succeeded')
  await once(client.subscribe(channel200) as PresenceChannel, 'pusher:subscription_succeeded')

  const received = once(long, 'hello')
  const published = await sdk.trigger(channel150, 'hello', { n: 1 }, { info: 'subscription_count' })
  t.same(await published.json(), { ok: true, channels: { [channel150]: { subscription_count: 1 } } })
  t.same(await received, { n: 1 })

  const state = await sdk.get({ path: `/channels/${channel150}`, params: { info: 'subscription_count' } })
  t.equal(state.status, 200)
  t.same(await state.json(), { occupied: true, subscription_count: 1 })
  const presence = await sdk.get({ path: `/channels/${channel200}`, params: { info: 'user_count' } })
  t.same(await presence.json(), { occupied: true, subscription_count: 1, user_count: 1 })
  const users = await sdk.get({ path: `/channels/${channel200}/users` })
  t.same(await users.json(), { users: [{ id: userId }] })

  client.signin()
  await until(() => client.user.serverToUserChannel?.subscribed === true, 5_000, 'signed in')
  const ended = whenState(client, 'disconnected')
  const terminated = await sdk.terminateUserConnections(userId)
  t.equal(terminated.status, 200)
  t.same(await terminated.json(), { ok: true })
  await ended

  // Longer than the app allows: refused by the API's own check, in its shape.
  const tooLong = await sdkError(sdk.get({ path: `/channels/${'x'.repeat(201)}` }))
  t.equal(tooLong.status, 400)
  t.match(tooLong.body, { code: 400, error: /^Invalid channel name/ })
})

t.test('an app id longer than the router would take as a parameter is routed too', async (t) => {
  const longId = { ...APP, id: 'a'.repeat(150) }
  const server = await startPusherServer({ apps: [longId], pusher: { apps: [longId] } })
  t.teardown(() => server.app.close())
  const sdk = server.sdk(longId)
  t.equal((await sdk.trigger('news', 'e', {})).status, 200)
  t.same(await (await sdk.get({ path: '/channels' })).json(), { channels: {} })
  const unknown = await signedFetch(server.port, 'GET', `/apps/${'b'.repeat(150)}/channels`)
  t.same([unknown.status, unknown.body], [404, { error: `Unknown app "${'b'.repeat(100)}".`, code: 404 }])
})

t.test('a path that is not valid percent-encoding: 400 in the API shape, with or without a path prefix', async (t) => {
  for (const pathPrefix of ['', '/realtime']) {
    const server = await startPusherServer({ pusher: { apps: [APP], pathPrefix } })
    t.teardown(() => server.app.close())
    for (const [method, path] of [
      ['GET', '/apps/app-id/channels/%E0%A4%A'],
      ['GET', '/apps/%zz/channels'],
      ['POST', '/apps/app-id/users/%E0%A4%A/terminate_connections'],
      ['PUT', '/apps/app-id/channels/%E0%A4%A'],
    ] as const) {
      const response = await fetch(`http://127.0.0.1:${server.port}${pathPrefix}${path}?auth_key=app-key`, { method })
      t.equal(response.status, 400, `${pathPrefix}${path}: 400`)
      t.same(
        await response.json(),
        { error: `The request path is not valid percent-encoding: ${JSON.stringify(pathPrefix + path)}.`, code: 400 },
        `${method} ${pathPrefix}${path}`,
      )
    }
    // The application's own routes are the application's business.
    const outside = await fetch(`http://127.0.0.1:${server.port}/elsewhere/%E0%A4%A`)
    t.equal(outside.status, 400)
    t.equal((await outside.json()).code, 'FST_ERR_BAD_URL', 'outside the API, Fastify answers as it always does')
  }
})

t.test('the body is read as JSON only after the signature: unsigned garbage is 401, for an unknown app 404', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const post = (path: string, body: string, url = `http://127.0.0.1:${server.port}${path}`) =>
    fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } }).then(async (r) => [r.status, await r.json()])

  const unsigned = await post('/apps/app-id/events', '{nope')
  t.same(unsigned, [401, { error: 'Missing the auth_key query parameter.', code: 401 }])
  t.same(await post('/apps/nope/events', '{nope'), [404, { error: 'Unknown app "nope".', code: 404 }])
  const signed = await post('/apps/app-id/events', '{nope', signedUrl(server.port, 'POST', '/apps/app-id/events', { body: '{nope' }))
  t.same(signed, [400, { error: 'The request body is not valid JSON.', code: 400 }], 'signed, it is a 400')
  const wrongMd5 = await post('/apps/app-id/events', '{nope', signedUrl(server.port, 'POST', '/apps/app-id/events', { body: '{"name":"e"}' }))
  t.same(wrongMd5, [401, { error: 'The body_md5 does not match the MD5 of the body.', code: 401 }], 'body_md5 covers the exact bytes, JSON or not')
})
