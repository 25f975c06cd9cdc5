import t from 'tap'
import { MemoryRateLimiter } from '../../plugin/index.js'
import { APP, connected, once, pusherJs, startPusherServer } from '../helpers/pusher.js'
import { sdkError, signedFetch, signedUrl } from '../helpers/pusher-http.js'

/** Bad input and limits: each with its real status and a `{ error, code }` body, and nothing published. */

const event = (fields: Record<string, unknown> = {}) => ({ name: 'e', channels: ['news'], data: '{}', ...fields })

t.test('400: malformed and out-of-limit requests, nothing published', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const port = server.port
  const client = pusherJs(server)
  t.teardown(() => client.disconnect())
  await connected(client)
  const news = client.subscribe('news')
  await once(news, 'pusher:subscription_succeeded')
  let leaked = 0
  news.bind_global((name: string) => {
    if (!name.startsWith('pusher')) leaked++
  })

  const post = (body: unknown, path = '/apps/app-id/events') => signedFetch(port, 'POST', path, body)
  const cases: Array<[string, Promise<{ status: number; body: any }>, string | RegExp]> = [
    ['not JSON', post('{"name": '), 'The request body is not valid JSON.'],
    ['no name', post({ channels: ['news'], data: '{}' }), /^Invalid body: \/name /],
    ['empty name', post(event({ name: '' })), /^Invalid body: \/name /],
    ['no data', post({ name: 'e', channels: ['news'] }), /^Invalid body: \/data /],
    ['channels not a list', post(event({ channels: 'news' })), /^Invalid body: \/channels /],
    ['no channel', post(event({ channels: [] })), 'No channel given: send "channels" (a list) or "channel".'],
    ['101 channels', post(event({ channels: Array.from({ length: 101 }, (_, i) => `c${i}`) })), 'An event may be published to at most 100 channels; got 101.'],
    ['event name of 201', post(event({ name: 'x'.repeat(201) })), 'The event name is longer than 200 characters.'],
    [
      'reserved event name',
      post(event({ name: 'pusher_internal:member_added' })),
      'Event names starting with "pusher:" or "pusher_internal:" are reserved for the protocol.',
    ],
    ['bad channel characters', post(event({ channels: ['news', 'bad channel!'] })), /^Invalid channel name "bad channel!"/],
    ['channel name of 165', post(event({ channels: ['c'.repeat(165)] })), /^Invalid channel name/],
    ['hidden channel', post(event({ channels: ['#connections'] })), /^Invalid channel name "#connections"/],
    ['bad socket_id', post(event({ socket_id: 'abc' })), 'Invalid socket_id "abc".'],
    ['unknown info', post(event({ info: 'user_count,colour' })), 'Unknown info attribute "colour"; known: user_count, subscription_count.'],
    [
      'plaintext to an encrypted channel',
      post(event({ channels: ['private-encrypted-x'], data: '{"secret":1}' })),
      /^Data for an encrypted channel must be the SDK's encrypted payload/,
    ],
    [
      'encrypted channel with others',
      post(event({ channels: ['private-encrypted-x', 'news'], data: '{"nonce":"a","ciphertext":"b"}' })),
      'An event to an encrypted channel must go to that channel alone.',
    ],
    [
      'batch of 11',
      post({ batch: Array.from({ length: 11 }, () => ({ name: 'e', channel: 'news', data: '{}' })) }, '/apps/app-id/batch_events'),
      'A batch may hold at most 10 events; got 11.',
    ],
    [
      'one bad event in a batch',
      post(
        {
          batch: [
            { name: 'e', channel: 'news', data: '{}' },
            { name: 'e', channel: 'bad!', data: '{}' },
          ],
        },
        '/apps/app-id/batch_events',
      ),
      /^batch\[1\]: Invalid channel name "bad!"/,
    ],
    ['batch not a list', post({ batch: {} }, '/apps/app-id/batch_events'), /^Invalid body: \/batch /],
  ]
  for (const [name, request, message] of cases) {
    const { status, body } = await request
    t.equal(status, 400, `${name}: 400`)
    t.equal(body.code, 400, `${name}: code`)
    if (typeof message === 'string') t.equal(body.error, message, `${name}: message`)
    else t.match(body.error, message, `${name}: message`)
  }

  const reads: Array<[string, string, Record<string, string>, string]> = [
    [
      'user_count without presence filter',
      '/apps/app-id/channels',
      { info: 'user_count' },
      'user_count can only be requested for presence channels: add filter_by_prefix=presence-',
    ],
    ['user_count of a public channel', '/apps/app-id/channels/news', { info: 'user_count' }, 'user_count can only be requested for presence channels.'],
    ['users of a public channel', '/apps/app-id/channels/news/users', {}, 'Only presence channels have users.'],
    ['bad channel name', '/apps/app-id/channels/bad%21name', {}, 'Invalid channel name "bad!name".'],
  ]
  for (const [name, path, params, message] of reads) {
    const response = await fetch(signedUrl(port, 'GET', path.replace('%21', '!'), { params, urlPath: path }))
    t.equal(response.status, 400, `${name}: 400`)
    t.same(await response.json(), { error: message, code: 400 }, `${name}: body`)
  }

  // Something valid afterwards arrives, and nothing before it did.
  const fine = once(news, 'fine')
  t.equal((await post(event({ name: 'fine' }))).status, 200)
  await fine
  t.equal(leaked, 1, 'only the valid event was published')
})

t.test('413: an event over the payload limit (configurable), a body over the body limit', async (t) => {
  const small = { ...APP, maxEventPayloadKb: 1 }
  const server = await startPusherServer({ apps: [small], pusher: { apps: [small], http: { bodyLimit: 4096 } } })
  t.teardown(() => server.app.close())
  const sdk = server.sdk(small)

  const tooBig = await sdkError(sdk.trigger('news', 'big', 'x'.repeat(1025)))
  t.same(tooBig, { status: 413, body: { error: 'The event data is 1025 bytes; the limit is 1 KiB.', code: 413 } }, 'a string is sent as it is')
  t.equal((await sdk.trigger('news', 'fits', 'x'.repeat(1000))).status, 200)
  const inBatch = await sdkError(
    sdk.triggerBatch([
      { channel: 'news', name: 'ok', data: 1 },
      { channel: 'news', name: 'big', data: 'y'.repeat(2000) },
    ]),
  )
  t.same(inBatch, { status: 413, body: { error: 'batch[1]: The event data is 2000 bytes; the limit is 1 KiB.', code: 413 } })

  const huge = JSON.stringify({ name: 'e', channels: ['news'], data: 'z'.repeat(5000) })
  const whole = await fetch(signedUrl(server.port, 'POST', '/apps/app-id/events', { body: huge }), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: huge,
  })
  t.equal(whole.status, 413)
  t.same(await whole.json(), { error: 'The request body is larger than 4096 bytes.', code: 413 })
})

t.test('429: per-app limits on backend events (per channel) and reads, with rate-limit headers', async (t) => {
  const limited = { ...APP, maxBackendEventsPerSecond: 3, maxReadRequestsPerSecond: 2 }
  const other = { id: 'free-id', key: 'free-key', secret: 'free-secret' }
  // A minute-long window: every request below lands in the first one, however slow the machine.
  // (The default is Pusher's second; the window length changes nothing else.)
  const rateLimiter = new MemoryRateLimiter({ windowMs: 60_000 })
  const server = await startPusherServer({ apps: [limited, other], pusher: { apps: [limited, other], http: { rateLimiter } } })
  t.teardown(() => server.app.close())
  const sdk = server.sdk(limited)

  const first = await sdk.trigger(['a', 'b'], 'e', {})
  t.equal(first.headers.get('x-ratelimit-limit'), '3')
  t.equal(first.headers.get('x-ratelimit-remaining'), '1')
  const refused = await sdkError(sdk.trigger(['c', 'd'], 'e', {}))
  t.same(refused, { status: 429, body: { error: 'Too many requests.', code: 429 } }, 'two more channels would make 4 > 3')
  t.equal((await sdk.trigger('c', 'e', {})).status, 200, 'a refused request took no points')
  const raw = await fetch(signedUrl(server.port, 'POST', '/apps/app-id/events', { body: '{"name":"e","channel":"x","data":"1"}' }), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"name":"e","channel":"x","data":"1"}',
  })
  t.equal(raw.status, 429)
  const retryAfter = Number(raw.headers.get('retry-after'))
  t.ok(retryAfter >= 1 && retryAfter <= 60, `retry-after ${retryAfter}: the seconds left in the window`)
  t.equal(raw.headers.get('x-ratelimit-remaining'), '0')
  t.equal((await server.sdk(other).trigger('a', 'e', {})).status, 200, 'other apps have budgets of their own')

  t.equal((await sdk.get({ path: '/channels' })).status, 200)
  t.equal((await sdk.get({ path: '/channels/a' })).status, 200)
  t.same(await sdkError(sdk.get({ path: '/channels/a/users' })), { status: 429, body: { error: 'Too many requests.', code: 429 } })
})

t.test('the default window is one second from the first counted request (an injected clock)', async (t) => {
  const limiter = new MemoryRateLimiter()
  const start = 1_000_000
  t.match(limiter.consume('k', 2, 3, start), { allowed: true, remaining: 1, resetMs: 1000 })
  t.match(limiter.consume('k', 2, 3, start + 999), { allowed: false, remaining: 1, resetMs: 1 })
  t.match(limiter.consume('k', 2, 3, start + 1000), { allowed: true, remaining: 1, resetMs: 1000 }, 'a new window')
  t.throws(() => new MemoryRateLimiter({ windowMs: 0 }), { message: 'roomcast: a rate limiter windowMs must be a positive number' })
})

t.test('CORS: any origin by default, preflights answered; a list narrows it; false turns it off', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const preflight = await fetch(`http://127.0.0.1:${server.port}/apps/app-id/events`, {
    method: 'OPTIONS',
    headers: { origin: 'https://example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  })
  t.equal(preflight.status, 204)
  t.equal(preflight.headers.get('access-control-allow-origin'), '*')
  t.equal(preflight.headers.get('access-control-allow-methods'), 'GET, POST, OPTIONS')
  t.match(preflight.headers.get('access-control-allow-headers'), /Content-Type/)
  const answer = await signedFetch(server.port, 'GET', '/apps/app-id/channels')
  t.equal(answer.headers.get('access-control-allow-origin'), '*')
  const failed = await fetch(`http://127.0.0.1:${server.port}/apps/app-id/channels`)
  t.equal(failed.status, 401)
  t.equal(failed.headers.get('access-control-allow-origin'), '*', 'errors carry CORS headers too, so browsers can read them')

  const listed = await startPusherServer({ pusher: { apps: [APP], http: { cors: { origin: ['https://ok.example'] } } } })
  t.teardown(() => listed.app.close())
  const allowed = await fetch(`http://127.0.0.1:${listed.port}/apps/app-id/channels`, {
    method: 'OPTIONS',
    headers: { origin: 'https://ok.example', 'access-control-request-method': 'GET' },
  })
  t.equal(allowed.status, 204)
  t.equal(allowed.headers.get('access-control-allow-origin'), 'https://ok.example')
  t.equal(allowed.headers.get('vary'), 'Origin')
  const denied = await fetch(`http://127.0.0.1:${listed.port}/apps/app-id/channels`, {
    method: 'OPTIONS',
    headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
  })
  t.equal(denied.headers.get('access-control-allow-origin'), null)

  const off = await startPusherServer({ pusher: { apps: [APP], http: { cors: false } } })
  t.teardown(() => off.app.close())
  const none = await signedFetch(off.port, 'GET', '/apps/app-id/channels')
  t.equal(none.status, 200)
  t.equal(none.headers.get('access-control-allow-origin'), null)
})

t.test('http: false leaves the API out; the application keeps its own 404s elsewhere', async (t) => {
  const server = await startPusherServer({ pusher: { apps: [APP], http: false } })
  t.teardown(() => server.app.close())
  const response = await signedFetch(server.port, 'GET', '/apps/app-id/channels')
  t.equal(response.status, 404)
  t.equal(response.body.statusCode, 404, "Fastify's own 404, not the API's")
  t.equal((await fetch(`http://127.0.0.1:${server.port}/pusher/health`)).status, 404)

  const withApi = await startPusherServer()
  t.teardown(() => withApi.app.close())
  const elsewhere = await fetch(`http://127.0.0.1:${withApi.port}/somewhere`)
  t.equal(elsewhere.status, 404)
  t.same(Object.keys(await elsewhere.json()).sort(), ['error', 'message', 'statusCode'], 'outside /apps the application answers as it always did')
})
