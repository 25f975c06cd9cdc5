import t from 'tap'
import { buildChatApp } from '../../examples/chat/app.js'
import { RawClient, connect, type Frame } from '../helpers/server.js'

/** The example's rooms keep history: a room message carries its stream position, checked and set aside here. */
function withoutPosition(frame: Frame): Frame {
  const { offset, epoch, ...rest } = frame as Frame & { offset?: unknown; epoch?: unknown }
  if (!Number.isInteger(offset) || typeof epoch !== 'string') throw new Error(`no stream position on ${JSON.stringify(frame)}`)
  return rest
}

t.test('the example chat end to end: name auth, lobby, chat.send → chat.message, chat.who', async (t) => {
  const app = await buildChatApp({ logger: false })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const url = `ws://127.0.0.1:${(app.server.address() as { port: number }).port}/ws`

  const alice = await connect(url, { name: 'alice' })
  t.teardown(() => alice.client.close())
  t.same(alice.connected, {
    event: 'connected',
    id: 1,
    data: { connectionId: alice.connected.data.connectionId, userId: 'alice', rooms: ['lobby'], heartbeat: { interval: 30_000, timeout: 90_000 } },
  })
  const bob = await connect(url, { name: ' bob ' })
  t.teardown(() => bob.client.close())
  t.equal(bob.connected.data.userId, 'bob', 'the name is trimmed')
  t.same(bob.connected.data.rooms, ['lobby'])

  t.same(withoutPosition(await alice.client.next('chat.notice')), { event: 'chat.notice', data: { room: 'lobby', text: 'bob joined' }, room: 'lobby' })
  t.same(await alice.client.next((f) => f.event === 'presence' && f.data.userId === 'bob'), {
    event: 'presence',
    data: { room: 'lobby', userId: 'bob', action: 'join' },
    room: 'lobby',
  })

  t.same(await alice.client.request('chat.send', { room: 'lobby', text: 'hello bob' }), { event: 'ack', id: 2, data: { delivered: true } })
  for (const { client } of [alice, bob]) {
    const message = await client.next('chat.message')
    t.type(message.data.at, 'number')
    t.same(withoutPosition(message), { event: 'chat.message', data: { room: 'lobby', from: 'alice', text: 'hello bob', at: message.data.at }, room: 'lobby' })
  }

  t.same(await bob.client.request('chat.who', { room: 'lobby' }), { event: 'ack', id: 2, data: { users: ['alice', 'bob'] } })
  t.same(await bob.client.request('chat.send', { room: 'kitchen', text: 'anyone?' }), {
    event: 'error',
    id: 3,
    data: { code: 'not_in_room', message: 'join kitchen first', event: 'chat.send' },
  })
  const joined = await bob.client.request('join', { rooms: ['kitchen', 'Bad Room!'] })
  t.match(joined, { event: 'ack', id: 4, data: { joined: ['kitchen'], refused: ['Bad Room!'], streams: { kitchen: { offset: Number, epoch: String } } } })
  t.same(await bob.client.request('chat.send', { room: 'kitchen', text: '' }), {
    event: 'error',
    id: 5,
    data: {
      code: 'invalid_data',
      message: 'data of "chat.send" does not match its schema',
      event: 'chat.send',
      details: [{ path: '/text', message: 'Expected string length greater or equal to 1' }],
    },
  })
  t.same(await bob.client.request('chat.send', { room: 'kitchen', text: 'just me' }), { event: 'ack', id: 6, data: { delivered: true } })
  t.same(withoutPosition(await bob.client.next((f) => f.event === 'chat.message' && f.room === 'kitchen')), {
    event: 'chat.message',
    data: { room: 'kitchen', from: 'bob', text: 'just me', at: (bob.client.all('chat.message').at(-1)!.data as { at: number }).at },
    room: 'kitchen',
  })
  t.same(alice.client.all('chat.message').length, 1, 'alice is not in the kitchen')

  bob.client.ws.close(1000)
  t.same(await alice.client.next((f) => f.event === 'presence' && f.data.action === 'leave'), {
    event: 'presence',
    data: { room: 'lobby', userId: 'bob', action: 'leave' },
    room: 'lobby',
  })
  t.same(await alice.client.request('chat.who', { room: 'lobby' }), { event: 'ack', id: 3, data: { users: ['alice'] } })
})

t.test('the example chat refuses a bad name with 4003', async (t) => {
  const app = await buildChatApp({ logger: false })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const client = await RawClient.open(`ws://127.0.0.1:${(app.server.address() as { port: number }).port}/ws`)
  t.teardown(() => client.close())
  t.same(await client.request('authenticate', { name: '<script>' }), {
    event: 'error',
    id: 1,
    data: { code: 'auth_refused', message: 'authentication refused', event: 'authenticate' },
  })
  t.same(await client.whenClosed(), { code: 4003, reason: 'authentication refused' })
})

t.test('the example chat checks the sign-in data against its auth schema before its hook', async (t) => {
  const app = await buildChatApp({ logger: false })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const client = await RawClient.open(`ws://127.0.0.1:${(app.server.address() as { port: number }).port}/ws`)
  t.teardown(() => client.close())
  t.same(await client.request('authenticate', { name: 7 }), {
    event: 'error',
    id: 1,
    data: {
      code: 'invalid_data',
      message: 'data of "authenticate" does not match its schema',
      event: 'authenticate',
      details: [{ path: '/name', message: 'Expected string' }],
    },
  })
  t.same(await client.whenClosed(), { code: 4003, reason: 'invalid authentication data' })
})
