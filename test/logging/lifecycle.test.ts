import type { Socket } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import roomcast, { type RegisteredEvents, type RoomcastOptions } from '../../plugin/index.js'
import { rawPusher } from '../helpers/pusher.js'
import { RawClient, connect, until } from '../helpers/server.js'

/** One JSON line pino wrote. */
interface Line {
  level: number
  msg: string
  reqId?: string
  connectionId?: string
  protocol?: string
  [field: string]: unknown
}

const DEBUG = 20
const INFO = 30
const WARN = 40

/** A server whose Fastify logger writes debug and up into `lines`. */
async function loggedServer(t: Test, options: RoomcastOptions = {}): Promise<{ app: FastifyInstance; url: string; port: number; lines: Line[] }> {
  const lines: Line[] = []
  const stream = { write: (text: string) => lines.push(JSON.parse(text) as Line) }
  const app = Fastify({ logger: { level: 'debug', stream } })
  await app.register(roomcast, options as RoomcastOptions<RegisteredEvents>)
  app.roomcast.on('echo', (_connection, data) => data)
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return { app, url: `ws://127.0.0.1:${address.port}/ws`, port: address.port, lines }
}

/** The line with this message about one connection (the first, or undefined). */
function lineOf(lines: Line[], connectionId: string, msg: string): Line | undefined {
  return lines.find((line) => line.connectionId === connectionId && line.msg === msg)
}

/** Resolves once a line with this message about the connection was written. */
async function logged(lines: Line[], connectionId: string, msg: string): Promise<Line> {
  await until(() => lineOf(lines, connectionId, msg) !== undefined, 5000, `a "${msg}" line`)
  return lineOf(lines, connectionId, msg)!
}

/** The reqId of the upgrade request that opened this connection, from Fastify's own "incoming request" line. */
function upgradeReqIds(lines: Line[], path: string): string[] {
  return lines.filter((line) => line.msg === 'incoming request' && String((line.req as { url?: string })?.url).startsWith(path)).map((line) => line.reqId!)
}

t.test('native: the life cycle at debug on the upgrade request (reqId), a refused join at info', async (t) => {
  const { lines } = await loggedServer(t, {
    authenticate: (data) => ({ userId: (data as { name: string }).name }),
    authorizeJoin: ({ rooms }) => rooms.filter((room) => room !== 'secret'),
  }).then(async (server) => {
    const { client, connected } = await connect(server.url, { name: 'ada' })
    const id = connected.data.connectionId as string
    await client.request('join', { rooms: ['lobby'] })
    t.match(await client.request('join', { rooms: ['secret'] }), { event: 'error', data: { code: 'join_refused' } })
    await client.request('leave', { rooms: ['lobby'] })
    client.ws.close(1000, 'bye')
    await logged(server.lines, id, 'roomcast: connection closed')
    return { lines: server.lines.filter((line) => line.connectionId === id), all: server.lines }
  })

  const reqId = lines[0]!.reqId
  t.ok(reqId, 'the lines carry the reqId')
  t.ok(
    lines.every((line) => line.reqId === reqId && line.protocol === 'native'),
    'every line of the connection has the upgrade request’s reqId and the protocol',
  )
  t.same(
    lines.map((line) => [line.level, line.msg]),
    [
      [DEBUG, 'roomcast: connection opened'],
      [DEBUG, 'roomcast: connection authenticated'],
      [DEBUG, 'roomcast: joined'],
      [INFO, 'roomcast: join refused'],
      [DEBUG, 'roomcast: left'],
      [DEBUG, 'roomcast: connection closed'],
    ],
  )
  t.match(lines[0], { remoteAddress: '127.0.0.1' })
  t.match(lines[1], { userId: 'ada' })
  t.match(lines[2], { rooms: ['lobby'] })
  t.match(lines[3], { rooms: ['secret'] })
  t.match(lines[5], { code: 1000, reason: 'bye' })
})

t.test('the reqId is the one Fastify logged the upgrade request with', async (t) => {
  const { url, lines } = await loggedServer(t)
  const { client, connected } = await connect(url)
  t.teardown(() => client.close())
  const opened = await logged(lines, connected.data.connectionId, 'roomcast: connection opened')
  t.same(upgradeReqIds(lines, '/ws'), [opened.reqId])
})

t.test('refusals: in-band authentication and a refused upgrade at info, with the reason', async (t) => {
  const { url, lines } = await loggedServer(t, {
    authenticateRequest: (request) => ((request.query as { token?: string }).token === 'none' ? null : undefined),
    authenticate: () => null,
  })
  const refused = await RawClient.open(url)
  refused.send({ event: 'authenticate', data: {}, id: 1 })
  t.match(await refused.whenClosed(), { code: 4003 })
  const refusal = lines.find((line) => line.msg === 'roomcast: authentication refused')
  t.match(refusal, { level: INFO, reason: 'authentication refused', protocol: 'native' })
  t.match(await logged(lines, refusal!.connectionId!, 'roomcast: connection closed'), { level: DEBUG, code: 4003, reason: 'authentication refused' })

  const upgrade = await RawClient.open(`${url}?token=none`)
  await upgrade.whenClosed()
  const line = lines.find((line) => line.msg === 'roomcast: upgrade refused by authenticateRequest')
  t.match(line, { level: INFO, statusCode: 401, mode: 'close', protocol: 'native' })
  t.equal(line?.reqId, upgradeReqIds(lines, '/ws?token=none')[0], 'on the refused request, with its reqId')
})

t.test('abuse is warn: bad JSON, then the rate limit with the close that follows', async (t) => {
  const { url, lines } = await loggedServer(t, { rateLimit: { max: 5, windowMs: 60_000 } })
  const { client, connected } = await connect(url)
  t.teardown(() => client.close())
  const id = connected.data.connectionId as string
  client.send('{not json')
  await client.next('error')
  t.match(lineOf(lines, id, 'roomcast: input refused'), { level: WARN, code: 'bad_json' })
  for (let i = 0; i < 10; i++) client.send({ event: 'echo', data: i })
  t.match(await client.whenClosed(), { code: 1008 })
  await logged(lines, id, 'roomcast: connection closed')
  const refused = lines.filter((line) => line.connectionId === id && line.msg === 'roomcast: input refused')
  t.match(refused, [
    { level: WARN, code: 'bad_json' },
    { level: WARN, code: 'rate_limited' },
  ])
  t.match(lineOf(lines, id, 'roomcast: connection closed'), { code: 1008, reason: 'rate limit exceeded' })
})

t.test('a burst of 100 messages writes no line per message', async (t) => {
  const { url, lines } = await loggedServer(t, { rateLimit: { max: 1000, windowMs: 1000 } })
  const { client } = await connect(url)
  t.teardown(() => client.close())
  await client.request('echo', 'warm-up')
  const before = lines.length
  const replies = []
  for (let i = 0; i < 100; i++) replies.push(client.request('echo', i))
  await Promise.all(replies)
  const during = lines.slice(before)
  t.same(
    during.filter((line) => line.level >= INFO),
    [],
    'nothing at info or above',
  )
  t.ok(during.length < 10, `not a line per message at any level (${during.length} lines)`)
})

t.test('a slow reader: one warning for an episode of drops, with the count', async (t) => {
  const { app, url, lines } = await loggedServer(t, { backpressure: { maxBufferedBytes: 128 * 1024, policy: 'drop', maxDropped: Infinity } })
  const { client, connected } = await connect(url)
  t.teardown(() => client.close())
  const id = connected.data.connectionId as string
  await client.request('join', { rooms: ['feed'] })
  const slow = app.roomcast.connections.get(id)!
  // A reader that does not read: the server's backlog grows until messages are dropped.
  const tcp = (client.ws as unknown as { _socket: Socket })._socket
  tcp.pause()
  const text = 'x'.repeat(16 * 1024)
  for (let round = 0; round < 300 && slow.dropped < 50; round++) {
    for (let i = 0; i < 8; i++) void app.roomcast.rooms.to('feed').emit('tick', { text })
    await new Promise((resolve) => setImmediate(resolve))
  }
  t.ok(slow.dropped >= 50, `dropped ${slow.dropped}`)
  t.same(
    lines.filter((line) => line.connectionId === id && line.level >= WARN),
    [],
    'no line while the episode lasts',
  )
  tcp.resume()
  const notice = await client.next('dropped', 20_000)
  const warnings = lines.filter((line) => line.connectionId === id && line.level >= WARN)
  t.match(warnings, [{ level: WARN, msg: 'roomcast: messages dropped for a slow connection', dropped: notice.data.count }])
  t.equal(notice.data.count, slow.dropped)
})

t.test('pusher: opened, subscribed, a refused subscription, closed; the same reqId on every line', async (t) => {
  const { port, lines } = await loggedServer(t, { pusher: { apps: [{ id: 'app-id', key: 'app-key', secret: 'app-secret' }] } })
  const { client, socketId } = await rawPusher(`ws://127.0.0.1:${port}/app/app-key?protocol=7&client=js&version=8.6.0`)
  client.send({ event: 'pusher:subscribe', data: { channel: 'news' } })
  await client.next('pusher_internal:subscription_succeeded')
  client.send({ event: 'pusher:subscribe', data: { channel: 'private-news', auth: 'app-key:bad' } })
  await client.next('pusher:subscription_error')
  client.ws.close(1000, 'done')
  await logged(lines, socketId, 'roomcast: connection closed')
  const mine = lines.filter((line) => line.connectionId === socketId)
  t.same(
    mine.map((line) => [line.level, line.msg]),
    [
      [DEBUG, 'roomcast: connection opened'],
      [DEBUG, 'roomcast: connection authenticated'],
      [DEBUG, 'roomcast: subscribed'],
      [INFO, 'roomcast: subscription refused'],
      [DEBUG, 'roomcast: connection closed'],
    ],
  )
  t.ok(
    mine.every((line) => line.protocol === 'pusher' && line.reqId === upgradeReqIds(lines, '/app/')[0]),
    'every line has the protocol and the upgrade’s reqId',
  )
  t.match(mine[3], { channel: 'private-news', status: 401 })
  t.match(mine[4], { code: 1000, reason: 'done' })

  const unknown = await RawClient.open(`ws://127.0.0.1:${port}/app/nope?protocol=7`)
  t.match(await unknown.whenClosed(), { code: 4001 })
  t.match(
    lines.find((line) => line.msg === 'roomcast: pusher connection refused'),
    { level: INFO, protocol: 'pusher', code: 4001, reqId: upgradeReqIds(lines, '/app/nope')[0] },
  )
})
