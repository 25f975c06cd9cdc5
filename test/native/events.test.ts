import t from 'tap'
import { RoomcastError, Type, defineEvents } from '../../shared/index.js'
import { RawClient, connect, delay, startServer, until } from '../helpers/server.js'

const events = defineEvents({
  toServer: {
    'math.add': Type.Object({ a: Type.Number(), b: Type.Number() }, { additionalProperties: false }),
    'slow.echo': Type.Object({ text: Type.String(), ms: Type.Integer({ minimum: 0, maximum: 100 }) }),
    'fail.typed': Type.Object({}),
    'fail.plain': Type.Object({}),
    'fail.async': Type.Object({}),
    'fail.value': Type.Object({ kind: Type.Union([Type.Literal('bigint'), Type.Literal('circular')]) }),
    nothing: Type.Undefined(),
    'declared.unhandled': Type.Object({}),
  },
  toClient: {
    note: Type.Object({ text: Type.String({ maxLength: 10 }) }, { additionalProperties: false }),
  },
  replies: {
    'math.add': Type.Number(),
  },
})

type App = Awaited<ReturnType<typeof startServer>>['app']

/** The events above with handlers; returns what the handlers saw. */
function install(app: App): { seen: unknown[] } {
  const seen: unknown[] = []
  const roomcast = app.roomcast
  roomcast.on('math.add', (_connection, data) => {
    seen.push(data)
    return (data as { a: number; b: number }).a + (data as { a: number; b: number }).b
  })
  roomcast.on('slow.echo', async (_connection, data) => {
    const { text, ms } = data as { text: string; ms: number }
    await delay(ms)
    return { text }
  })
  roomcast.on('fail.typed', () => {
    throw new RoomcastError('not_allowed', 'you may not', [{ path: '/x', message: 'because' }])
  })
  roomcast.on('fail.plain', () => {
    throw new Error('connection string postgres://admin:hunter2@db')
  })
  roomcast.on('fail.async', async () => {
    await delay(1)
    throw new TypeError('internal detail 0xdeadbeef')
  })
  roomcast.on('fail.value', (_connection, data) => {
    if ((data as { kind: string }).kind === 'bigint') return 10n
    const loop: Record<string, unknown> = {}
    loop.self = loop
    return loop
  })
  roomcast.on('nothing', () => undefined)
  return { seen }
}

t.test('a handler gets validated data; its return value is the ack', async (t) => {
  const { app, url } = await startServer({ events })
  const { seen } = install(app)
  t.teardown(() => app.close())
  const { client } = await connect(url)
  t.teardown(() => client.close())
  t.same(await client.request('math.add', { a: 2, b: 3 }), { event: 'ack', id: 1, data: 5 })
  t.same(seen, [{ a: 2, b: 3 }])
  t.same(await client.request('nothing'), { event: 'ack', id: 2 }, 'undefined → an ack without data')
  client.send({ event: 'math.add', data: { a: 1, b: 1 }, id: 0 })
  t.same(await client.next((f) => f.id === 0), { event: 'ack', id: 0, data: 2 }, 'id 0 is a valid id')
  client.send({ event: 'math.add', data: { a: 10, b: 1 } })
  await until(() => seen.length === 3)
  t.same(seen[2], { a: 10, b: 1 })
  await delay(20)
  t.equal(client.all('ack').length, 3, 'no ack without an id')
})

t.test('async handlers: acks pair with their ids whatever order they finish in', async (t) => {
  const { app, url } = await startServer({ events })
  install(app)
  t.teardown(() => app.close())
  const { client } = await connect(url)
  t.teardown(() => client.close())
  const [slow, fast] = await Promise.all([client.request('slow.echo', { text: 'slow', ms: 40 }), client.request('slow.echo', { text: 'fast', ms: 0 })])
  t.same(slow, { event: 'ack', id: 1, data: { text: 'slow' } })
  t.same(fast, { event: 'ack', id: 2, data: { text: 'fast' } })
  t.same(
    client.all('ack').map((f) => f.id),
    [2, 1],
  )
})

t.test('a RoomcastError is sent as it is; any other error is handler_error with nothing leaked', async (t) => {
  const errors: Array<{ name: string; message: string; connection: boolean }> = []
  const { app, url } = await startServer({ events })
  install(app)
  app.roomcast.addHook('error', (error, connection) => {
    errors.push({ name: error.name, message: error.message, connection: connection !== undefined })
  })
  t.teardown(() => app.close())
  const { client } = await connect(url)
  t.teardown(() => client.close())
  const raw: string[] = []
  client.ws.on('message', (data) => raw.push(data.toString()))

  t.same(await client.request('fail.typed', {}), {
    event: 'error',
    id: 1,
    data: { code: 'not_allowed', message: 'you may not', event: 'fail.typed', details: [{ path: '/x', message: 'because' }] },
  })
  t.same(await client.request('fail.plain', {}), {
    event: 'error',
    id: 2,
    data: { code: 'handler_error', message: 'the handler of "fail.plain" failed', event: 'fail.plain' },
  })
  t.same(await client.request('fail.async', {}), {
    event: 'error',
    id: 3,
    data: { code: 'handler_error', message: 'the handler of "fail.async" failed', event: 'fail.async' },
  })
  client.send({ event: 'fail.plain', data: {} })
  t.same(
    await client.next((f) => f.event === 'error' && f.id === undefined),
    {
      event: 'error',
      data: { code: 'handler_error', message: 'the handler of "fail.plain" failed', event: 'fail.plain' },
    },
    'a failure without an id is still reported',
  )
  t.notMatch(raw.join('\n'), /hunter2|deadbeef|postgres|TypeError|stack/)
  t.same(errors, [
    { name: 'RoomcastError', message: 'you may not', connection: true },
    { name: 'Error', message: 'connection string postgres://admin:hunter2@db', connection: true },
    { name: 'TypeError', message: 'internal detail 0xdeadbeef', connection: true },
    { name: 'Error', message: 'connection string postgres://admin:hunter2@db', connection: true },
  ])
  t.equal(client.closed, undefined)
})

t.test('a reply that cannot be serialized is an error reply, not a crash', async (t) => {
  const { app, url } = await startServer({ events })
  install(app)
  t.teardown(() => app.close())
  const { client } = await connect(url)
  t.teardown(() => client.close())
  for (const [id, kind] of [
    [1, 'bigint'],
    [2, 'circular'],
  ] as const) {
    t.same(await client.request('fail.value', { kind }), {
      event: 'error',
      id,
      data: { code: 'handler_error', message: 'the handler of "fail.value" failed', event: 'fail.value' },
    })
  }
  t.same(await client.request('math.add', { a: 1, b: 2 }), { event: 'ack', id: 3, data: 3 }, 'the connection still works')
})

t.test('unknown events and schema failures', async (t) => {
  const { app, url } = await startServer({ events })
  install(app)
  t.teardown(() => app.close())
  const { client } = await connect(url)
  t.teardown(() => client.close())
  t.same(await client.request('no.such.event', {}), {
    event: 'error',
    id: 1,
    data: { code: 'unknown_event', message: 'unknown event "no.such.event"', event: 'no.such.event' },
  })
  t.same(await client.request('declared.unhandled', {}), {
    event: 'error',
    id: 2,
    data: { code: 'unknown_event', message: 'unknown event "declared.unhandled"', event: 'declared.unhandled' },
  })
  t.same(await client.request('math.add', { a: 'two', c: 3 }), {
    event: 'error',
    id: 3,
    data: {
      code: 'invalid_data',
      message: 'data of "math.add" does not match its schema',
      event: 'math.add',
      details: [
        { path: '/b', message: 'Expected required property' },
        { path: '/c', message: 'Unexpected property' },
        { path: '/a', message: 'Expected number' },
        { path: '/b', message: 'Expected number' },
      ],
    },
  })
  t.same(await client.request('math.add'), {
    event: 'error',
    id: 4,
    data: {
      code: 'invalid_data',
      message: 'data of "math.add" does not match its schema',
      event: 'math.add',
      details: [{ path: '/', message: 'Expected object' }],
    },
  })
  t.same(await client.request('math.add', { a: 1, b: 2 }), { event: 'ack', id: 5, data: 3 }, 'still open and working')
})

t.test('without an events definition any handled event is accepted as it is', async (t) => {
  const { app, url } = await startServer({})
  app.roomcast.on('anything', (_connection, data) => ({ got: data }))
  t.throws(() => app.roomcast.on('anything', () => undefined), { message: 'roomcast: a handler for "anything" is already registered' })
  t.teardown(() => app.close())
  const { client } = await connect(url)
  t.teardown(() => client.close())
  t.same(await client.request('anything', [1, 'two']), { event: 'ack', id: 1, data: { got: [1, 'two'] } })
  t.same((await client.request('other', {})).data.code, 'unknown_event')
  app.roomcast.off('anything')
  t.same(await client.request('anything', 1), {
    event: 'error',
    id: 3,
    data: { code: 'unknown_event', message: 'unknown event "anything"', event: 'anything' },
  })
})

t.test('outgoing data failing the toClient schema throws invalid_data and nothing is sent', async (t) => {
  const { app, url } = await startServer({ events })
  t.teardown(() => app.close())
  const { client, connected } = await connect(url)
  t.teardown(() => client.close())
  await client.request('join', { rooms: ['r'] })
  const id = connected.data.connectionId as string
  const roomcast = app.roomcast
  const bad = { text: 'far too long for ten' }
  const attempts: Array<[string, () => void]> = [
    ['rooms.to', () => roomcast.rooms.to('r').emit('note', bad)],
    ['users.to', () => roomcast.users.to('u').emit('note', bad)],
    ['connections.send', () => roomcast.connections.send(id, 'note', bad)],
    ['broadcast', () => roomcast.broadcast('note', bad)],
    ['emitter.toConnection', () => roomcast.emitter.toConnection(id).emit('note', bad)],
    ['connection.send', () => roomcast.connections.get(id)!.send('note', bad)],
  ]
  for (const [name, attempt] of attempts) {
    t.throws(
      attempt,
      {
        name: 'RoomcastError',
        code: 'invalid_data',
        message: 'data of "note" does not match its schema',
        details: [{ path: '/text', message: 'Expected string length less or equal to 10' }],
      },
      name,
    )
  }
  t.throws(() => roomcast.broadcast('undeclared' as 'note', { text: 'x' }), { code: 'unknown_event' })
  t.throws(() => roomcast.connections.get(id)!.send('undeclared' as 'note', { text: 'x' }), { code: 'unknown_event' })
  roomcast.rooms.to('r').emit('note', { text: 'ok' })
  t.same(await client.next('note'), { event: 'note', data: { text: 'ok' }, room: 'r' })
  await delay(20)
  t.same(client.all('note').length, 1, 'only the valid one arrived')
})

t.test('lifecycle hooks: connection, authenticated, join, leave, disconnect with code and reason, error', async (t) => {
  const log: string[] = []
  const { app, url } = await startServer({ events, authenticate: (data) => ({ userId: String((data as { user: string }).user) }) })
  install(app)
  const roomcast = app.roomcast
  roomcast.addHook('connection', (connection) => {
    log.push(`connection ${connection.state}`)
  })
  roomcast.addHook('authenticated', (connection) => {
    log.push(`authenticated ${connection.userId}`)
  })
  roomcast.addHook('join', (connection, room) => {
    log.push(`join ${connection.userId} ${room}`)
  })
  roomcast.addHook('leave', (connection, room) => {
    log.push(`leave ${connection.userId} ${room}`)
  })
  roomcast.addHook('disconnect', (connection, info) => {
    log.push(`disconnect ${connection.userId} ${info.code} ${info.reason} rooms=${connection.rooms.size}`)
  })
  roomcast.addHook('error', (error) => {
    log.push(`error ${(error as RoomcastError).code ?? error.message}`)
  })
  // Failing hooks are logged and never break the connection.
  roomcast.addHook('join', () => {
    throw new Error('hook bug')
  })
  roomcast.addHook('authenticated', async () => {
    throw new Error('async hook bug')
  })
  t.throws(() => roomcast.addHook('nope' as 'join', () => undefined), { message: 'roomcast: unknown hook "nope"' })
  t.teardown(() => app.close())

  const client = await RawClient.open(url)
  t.teardown(() => client.close())
  await client.request('authenticate', { user: 'gus' })
  t.same(await client.request('join', { rooms: ['a', 'b'] }), { event: 'ack', id: 2, data: { joined: ['a', 'b'], refused: [] } })
  await client.request('leave', { rooms: ['a'] })
  await client.request('math.add', { a: 'x' })
  await client.request('no.such', {})
  await client.request('fail.plain', {})
  client.ws.close(4100, 'user logged out')
  await client.whenClosed()
  await until(() => log.some((line) => line.startsWith('disconnect')))
  t.same(log, [
    'connection authenticating',
    'authenticated gus',
    'join gus a',
    'join gus b',
    'leave gus a',
    'error invalid_data',
    'error unknown_event',
    'error connection string postgres://admin:hunter2@db',
    'leave gus b',
    'disconnect gus 4100 user logged out rooms=0',
  ])
})
