import { createHash, createHmac } from 'node:crypto'
import Pusher from 'pusher'
import t from 'tap'
import { APP, startPusherServer } from '../helpers/pusher.js'
import { sdkError, signedFetch, signedUrl } from '../helpers/pusher-http.js'

/** Request signing: every way a signature can be wrong is a 401 with a `{ error, code }` body. */

const EVENT = { name: 'ping', channels: ['news'], data: '{}' }

t.test('signature failures are 401 with a JSON body', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const port = server.port
  // Read when each request is signed: a second may pass between the cases, and a timestamp made
  // from an earlier clock reading would then be one second closer to the window than it says.
  const now = (): number => Math.floor(Date.now() / 1000)

  t.same(await signedFetch(port, 'POST', '/apps/app-id/events', EVENT).then((r) => [r.status, r.body]), [200, { ok: true }], 'a correct signature passes')

  type Options = Parameters<typeof signedUrl>[3]
  const cases: Array<[string, Options | (() => Options), RegExp]> = [
    ['wrong key', { app: { ...APP, key: 'other-key' } }, /auth_key does not belong/],
    [
      'wrong secret',
      { app: { ...APP, secret: 'other-secret' } },
      /^Invalid signature: expected the HMAC SHA256 hex digest of "POST\\n\/apps\/app-id\/events\\nauth_key=app-key&auth_timestamp=\d+&auth_version=1.0&body_md5=[0-9a-f]{32}"\.$/,
    ],
    ['timestamp 601 s old', () => ({ timestamp: now() - 601 }), /^Timestamp expired/],
    // 601 s ahead when the server reads it: signed 602 s ahead, as the server's clock may pass a second after signing.
    ['timestamp 601 s ahead', () => ({ timestamp: now() + 602 }), /^Timestamp expired/],
    ['timestamp not a number', { after: { auth_timestamp: 'yesterday' } }, /^Timestamp expired/],
    ['body_md5 of another body', { body: '{"other":true}' }, /body_md5 does not match/],
    ['body_md5 missing', { after: { body_md5: undefined } }, /Missing the body_md5/],
    ['auth_signature missing', { after: { auth_signature: undefined } }, /Missing the auth_signature/],
    ['auth_key missing', { after: { auth_key: undefined } }, /Missing the auth_key/],
    ['auth_timestamp missing', { after: { auth_timestamp: undefined } }, /Missing the auth_timestamp/],
    ['auth_version missing', { after: { auth_version: undefined } }, /Missing the auth_version/],
    ['auth_version 2.0', { after: { auth_version: '2.0' } }, /auth_version must be 1.0/],
    ['a parameter added after signing', { after: { info: 'subscription_count' } }, /^Invalid signature/],
    ['signed for another path', { urlPath: '/apps/app-id/batch_events' }, /^Invalid signature/],
    ['signature of the right length, wrong bytes', { after: { auth_signature: '0'.repeat(64) } }, /^Invalid signature/],
  ]
  for (const [name, options, message] of cases) {
    const response = await signedFetch(port, 'POST', '/apps/app-id/events', EVENT, typeof options === 'function' ? options() : options)
    t.equal(response.status, 401, `${name}: 401`)
    t.equal(response.body.code, 401, `${name}: code`)
    t.match(response.body.error, message, `${name}: message`)
  }

  // The window is ±600 s inclusive.
  t.equal((await signedFetch(port, 'POST', '/apps/app-id/events', EVENT, { timestamp: now() - 590 })).status, 200, '590 s old is fine')

  // A tampered body: the signature and md5 were made for the original.
  const original = JSON.stringify(EVENT)
  const url = signedUrl(port, 'POST', '/apps/app-id/events', { body: original })
  const tampered = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...EVENT, name: 'evil' }) })
  t.equal(tampered.status, 401)
  t.same(await tampered.json(), { error: 'The body_md5 does not match the MD5 of the body.', code: 401 })

  // A repeated parameter is ambiguous: 400.
  const repeated = await fetch(signedUrl(port, 'GET', '/apps/app-id/channels') + '&info=user_count&info=subscription_count')
  t.equal(repeated.status, 400)
  t.same(await repeated.json(), { error: 'The query parameter info is given more than once.', code: 400 })
})

t.test('the SDK sees signature failures as rejections with the status and body', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const wrongSecret = new Pusher({ appId: APP.id, key: APP.key, secret: 'nope', host: '127.0.0.1', port: String(server.port) })
  const failure = await sdkError(wrongSecret.trigger('news', 'x', {}))
  t.equal(failure.status, 401)
  t.match(failure.body, { code: 401, error: /^Invalid signature/ })
  const reads = await sdkError(wrongSecret.get({ path: '/channels' }))
  t.equal(reads.status, 401)
})

t.test('reads without a body: body_md5 is optional, and checked when given', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const emptyMd5 = createHash('md5').update('').digest('hex')
  t.equal((await signedFetch(server.port, 'GET', '/apps/app-id/channels')).status, 200)
  t.equal((await signedFetch(server.port, 'GET', '/apps/app-id/channels', undefined, { params: { body_md5: emptyMd5 } })).status, 200)
  const wrong = await signedFetch(server.port, 'GET', '/apps/app-id/channels', undefined, { params: { body_md5: 'f'.repeat(32) } })
  t.same([wrong.status, wrong.body], [401, { error: 'The body_md5 does not match the MD5 of the body.', code: 401 }])
})

t.test('unknown app 404, disabled app 403 (after its signature), unknown route 404, all JSON', async (t) => {
  const disabled = { id: 'off-id', key: 'off-key', secret: 'off-secret', enabled: false }
  const server = await startPusherServer({ apps: [APP, disabled], pusher: { apps: [APP, disabled] } })
  t.teardown(() => server.app.close())
  const port = server.port

  const unknown = await signedFetch(port, 'POST', '/apps/nope/events', EVENT)
  t.same([unknown.status, unknown.body], [404, { error: 'Unknown app "nope".', code: 404 }])

  const off = await signedFetch(port, 'POST', '/apps/off-id/events', EVENT, { app: disabled })
  t.same([off.status, off.body], [403, { error: 'The app is disabled.', code: 403 }])
  const offUnsigned = await signedFetch(port, 'POST', '/apps/off-id/events', EVENT)
  t.equal(offUnsigned.status, 401, 'a disabled app is not revealed to callers without its secret')

  for (const [method, path] of [
    ['GET', '/apps/app-id/nothing-here'],
    ['GET', '/apps/app-id/events'],
    ['POST', '/apps/app-id/channels'],
    ['GET', '/apps'],
  ] as const) {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { method })
    t.equal(response.status, 404, `${method} ${path}`)
    t.same(await response.json(), { error: `No route for ${method} ${path}.`, code: 404 })
  }
})

t.test('a hand-made signature for a percent-encoded user id verifies (the SDK signs before encoding)', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const timestamp = Math.floor(Date.now() / 1000)
  const body = '{}'
  const md5 = createHash('md5').update(body).digest('hex')
  const path = '/apps/app-id/users/user one/terminate_connections'
  const query = `auth_key=app-key&auth_timestamp=${timestamp}&auth_version=1.0&body_md5=${md5}`
  const signature = createHmac('sha256', APP.secret).update(`POST\n${path}\n${query}`).digest('hex')
  const response = await fetch(`http://127.0.0.1:${server.port}/apps/app-id/users/user%20one/terminate_connections?${query}&auth_signature=${signature}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  })
  t.equal(response.status, 200)
  t.same(await response.json(), { ok: true })
})
