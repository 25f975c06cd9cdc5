/**
 * Property-based fuzzing of the Pusher HTTP API, signed as the SDKs sign: bodies of any shape
 * and depth, garbage, bytes that are not UTF-8, sizes around the body limit, bad signatures.
 * Every answer must be a documented status with a `{ error, code }` body, never a 500.
 */
import { createHash, createHmac } from 'node:crypto'
import fc from 'fast-check'
import t from 'tap'
import { MAX_JSON_DEPTH } from '../../shared/index.js'
import { anyValue, edgyString, nestedText, objectText, parsedDepth } from './frames.js'
import { BEACON_EVERY, checkObservers, FuzzServer, FuzzStats, observers, RUNS, samples, type Observer } from './harness.js'
import { FUZZ_APP, FUZZ_BODY_LIMIT } from './limits.js'

interface HttpCase {
  method: 'GET' | 'POST'
  path: string
  query: Record<string, string>
  body: Buffer | undefined
  /** How the body was made, for the expectation. */
  bodyKind: 'none' | 'json' | 'deep' | 'garbage' | 'invalid-utf8' | 'oversize'
  signature: 'valid' | 'wrong' | 'none'
  contentType: string | undefined
}

const channel = fc.oneof(
  fc.constantFrom('watch', 'private-a', 'presence-a', 'private-encrypted-a', 'cache-a', '#server-to-user-u1', '', 'a'.repeat(201)),
  edgyString,
)
const eventText = fc
  .array(
    fc.oneof(
      fc.tuple(fc.constant('name'), fc.oneof(fc.constantFrom('e', 'pusher:x', 'client-x', ''), edgyString, anyValue)),
      fc.tuple(
        fc.constant('data'),
        fc.oneof(
          anyValue,
          anyValue.map((value) => JSON.stringify(value) ?? ''),
        ),
      ),
      fc.tuple(fc.constant('channel'), fc.oneof(channel, anyValue)),
      fc.tuple(fc.constant('channels'), fc.oneof(fc.array(channel, { maxLength: 4 }), anyValue)),
      fc.tuple(fc.constant('socket_id'), fc.oneof(fc.constantFrom('1.2', '123.456'), edgyString, anyValue)),
      fc.tuple(fc.constant('info'), fc.oneof(fc.constantFrom('user_count', 'subscription_count', 'user_count,subscription_count'), edgyString)),
      fc.tuple(fc.constantFrom('__proto__', 'constructor', 'x'), anyValue),
    ),
    { maxLength: 6 },
  )
  .map((entries) => objectText(entries.map(([name, value]) => [name, JSON.stringify(value) ?? 'null'] as const)))
const jsonBody = fc.oneof(
  { weight: 4, arbitrary: eventText },
  { weight: 2, arbitrary: fc.array(eventText, { maxLength: 3 }).map((events) => `{"batch":[${events.join(',')}]}`) },
  { weight: 1, arbitrary: anyValue.map((value) => JSON.stringify(value) ?? 'null') },
  {
    weight: 1,
    arbitrary: fc.integer({ min: MAX_JSON_DEPTH - 3, max: MAX_JSON_DEPTH + 2 }).map((depth) => {
      const nest = nestedText(depth - 1, ['[', '{"a":'])
      return `{"name":"e","channel":"watch","data":${nest.open}${nest.close}}`
    }),
  },
)
const body = fc.oneof(
  { weight: 8, arbitrary: jsonBody.map((text) => ({ bodyKind: 'json' as const, body: Buffer.from(text) })) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.integer({ min: MAX_JSON_DEPTH + 1, max: 2500 }), fc.constantFrom('batch', 'event', 'bare'), fc.boolean())
      .map(([depth, where, cut]) => {
        const nest = nestedText(depth, ['[', '{"a":', '{"__proto__":'])
        const inner = nest.open + (cut ? '' : nest.close)
        const text =
          where === 'bare'
            ? inner
            : where === 'event'
              ? `{"name":"e","channel":"watch","data":${inner}}`
              : `{"batch":[{"name":"e","channel":"watch","data":${inner}}]}`
        return { bodyKind: 'deep' as const, body: Buffer.from(text) }
      }),
  },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        edgyString,
        jsonBody.chain((text) => fc.nat(text.length).map((cut) => text.slice(0, cut))),
      )
      .map((text) => ({ bodyKind: 'garbage' as const, body: Buffer.from(text) })),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(jsonBody, fc.constantFrom([0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80])).map(([text, bad]) => ({
      bodyKind: 'invalid-utf8' as const,
      body: Buffer.concat([Buffer.from(text.slice(0, -1)), Buffer.from(bad), Buffer.from(text.slice(-1))]),
    })),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: FUZZ_BODY_LIMIT - 2, max: FUZZ_BODY_LIMIT * 4 })
      .map((size) => ({ bodyKind: 'oversize' as const, body: Buffer.from('{"name":"e","channel":"watch","data":"' + 'x'.repeat(size) + '"}') })),
  },
  { weight: 1, arbitrary: fc.constant({ bodyKind: 'none' as const, body: undefined }) },
)
const route = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ method: 'POST' as const, path: 'events' }) },
  { weight: 3, arbitrary: fc.constant({ method: 'POST' as const, path: 'batch_events' }) },
  { weight: 1, arbitrary: fc.constant({ method: 'GET' as const, path: 'channels' }) },
  { weight: 1, arbitrary: channel.map((name) => ({ method: 'GET' as const, path: `channels/${pathSegment(name)}` })) },
  { weight: 1, arbitrary: channel.map((name) => ({ method: 'GET' as const, path: `channels/${pathSegment(name)}/users` })) },
  { weight: 1, arbitrary: edgyString.map((user) => ({ method: 'POST' as const, path: `users/${pathSegment(user)}/terminate_connections` })) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('GET', 'POST') as fc.Arbitrary<'GET' | 'POST'>, edgyString)
      .map(([method, path]) => ({ method, path: pathSegment(path) })),
  },
)
const cases: fc.Arbitrary<HttpCase> = fc
  .record({
    route,
    body,
    query: fc.dictionary(
      fc.constantFrom('filter_by_prefix', 'info', 'with_user_info', 'x'),
      fc.oneof(fc.constantFrom('presence-', 'user_count', 'subscription_count', '1'), fc.string({ maxLength: 8 })),
      { maxKeys: 2 },
    ),
    signature: fc.oneof({ weight: 8, arbitrary: fc.constant('valid' as const) }, { weight: 1, arbitrary: fc.constantFrom('wrong' as const, 'none' as const) }),
    contentType: fc.constantFrom('application/json', undefined, 'text/plain', 'application/json; charset=utf-16'),
  })
  .map(({ route: { method, path }, body: { bodyKind, body: bytes }, query, signature, contentType }) => ({
    method,
    path: `/apps/${FUZZ_APP.id}/${path}`,
    query,
    body: method === 'GET' ? undefined : bytes,
    bodyKind: method === 'GET' ? 'none' : bodyKind,
    signature,
    contentType,
  }))

/** A path segment of any string; lone surrogates become U+FFFD first, as on any wire. */
function pathSegment(text: string): string {
  return encodeURIComponent(Buffer.from(text).toString())
}

/** Pusher's signature: HMAC-SHA256 over method, path and the sorted query, with body_md5 over the exact bytes. */
function urlOf(port: number, request: HttpCase): string {
  const params: Record<string, string> = {
    ...request.query,
    auth_key: FUZZ_APP.key,
    auth_timestamp: String(Math.floor(Date.now() / 1000)),
    auth_version: '1.0',
  }
  if (request.body !== undefined && request.body.length > 0) params.body_md5 = createHash('md5').update(request.body).digest('hex')
  const query = Object.keys(params)
    .sort()
    .map((name) => `${name}=${params[name]}`)
    .join('&')
  if (request.signature === 'valid')
    params.auth_signature = createHmac('sha256', FUZZ_APP.secret).update(`${request.method}\n${request.path}\n${query}`).digest('hex')
  if (request.signature === 'wrong') params.auth_signature = 'f'.repeat(64)
  const url = new URL(`http://127.0.0.1:${port}${request.path}`)
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value)
  return url.toString()
}

const documented = new Set([200, 400, 401, 404, 413])

function judge(request: HttpCase, status: number, body: unknown): { label: string; ok: boolean } {
  const label = `${request.signature} ${request.bodyKind} -> ${status}`
  if (!documented.has(status)) return { label, ok: false }
  if (status !== 200) {
    const shape = body as { error?: unknown; code?: unknown } | undefined
    if (typeof shape?.error !== 'string' || shape.code !== status) return { label: label + ' (body not { error, code })', ok: false }
  }
  const size = request.body?.length ?? 0
  if (size > FUZZ_BODY_LIMIT) return { label, ok: status === 413 }
  if (status === 404) return { label, ok: true }
  if (request.signature !== 'valid') return { label, ok: status === 401 }
  const takesBody = request.path.endsWith('/events') || request.path.endsWith('/batch_events')
  if (!takesBody) return { label, ok: status === 200 || status === 400 }
  const text = request.body?.toString('utf8') ?? ''
  if (request.bodyKind === 'deep' || (parsedDepth(text) ?? 0) > MAX_JSON_DEPTH) return { label, ok: status === 400 }
  return { label, ok: status === 200 || status === 400 || status === 413 }
}

t.test('Pusher HTTP API: every generated request gets a documented status and body, never a 500', async (t) => {
  const server = new FuzzServer()
  await server.start()
  const stats = new FuzzStats('http')
  let watching: Observer[] = await observers(server.port)
  t.teardown(async () => {
    for (const observer of watching) observer.close()
    await server.stop()
  })
  await checkObservers(server, watching, 0)
  const heapBefore = await server.heapUsed()
  let n = 0
  for (const request of samples(cases, RUNS, 3)) {
    n++
    const input = `${request.method} ${request.path} ${request.signature} ${request.bodyKind} ${request.body?.toString('utf8').slice(0, 200) ?? ''}`
    let response: Response
    try {
      response = await fetch(urlOf(server.port, request), {
        method: request.method,
        ...(request.body === undefined ? {} : { body: new Uint8Array(request.body) }),
        headers: request.contentType === undefined ? {} : { 'content-type': request.contentType },
      })
    } catch (err) {
      if (server.alive) throw err
      stats.answered(request.bodyKind, 'crash', false, input + '\n' + server.stderr.slice(-600))
      for (const observer of watching) observer.close()
      await server.whenExited()
      await server.start()
      watching = await observers(server.port)
      continue
    }
    const text = await response.text()
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      body = text
    }
    const { label, ok } = judge(request, response.status, body)
    stats.answered(request.bodyKind, label.split(' -> ')[1]!, ok, `${label}: ${input}`)
    if (n % BEACON_EVERY === 0) await checkObservers(server, watching, n)
  }
  await checkObservers(server, watching, n + 1)
  const heapGrowth = (await server.heapUsed()) - heapBefore
  const summary = stats.summary(server.crashes, heapGrowth)
  t.comment(summary)
  if (RUNS >= 10_000) process.stderr.write(summary + '\n')
  t.equal(server.crashes, 0, 'no crash')
  t.equal(stats.unexpected, 0, 'no unexpected answer')
  t.equal(stats.tried, RUNS)
  t.ok(heapGrowth < 64 * 1024 * 1024, 'the heap stays bounded')
})
