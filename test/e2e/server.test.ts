import t from 'tap'
import { defineEvents, Type } from '../../shared/index.js'
import { EncryptedRawClient } from '../helpers/e2e.js'
import { RawClient, connect, startServer, until } from '../helpers/server.js'

const events = defineEvents({
  toServer: { 'note.send': Type.Object({ room: Type.String(), text: Type.String() }) },
  toClient: { 'note.posted': Type.Object({ text: Type.String() }) },
})

const SECRET_TOKEN = 'tok-7f3a91-very-secret'
const SECRET_TEXT = 'the eagle lands at midnight'

async function encryptedServer(t: Tap.Test, mode: 'optional' | 'required', extra: Record<string, unknown> = {}) {
  const received: string[] = []
  const server = await startServer(
    {
      events,
      encryption: mode,
      authTimeout: 1000,
      authenticate: (data: unknown) => ((data as { token?: string }).token === SECRET_TOKEN ? { userId: 'agent' } : null),
      ...extra,
    },
    (app) => {
      app.roomcast.on('note.send', (connection, data) => {
        received.push(data.text)
        app.roomcast.rooms.to(data.room).emit('note.posted', { text: data.text })
        return { ok: true }
      })
    },
  )
  t.teardown(() => server.app.close())
  return { ...server, received }
}

/** An encrypted raw client that completed the key exchange, authenticated and joined `room`. */
async function secureMember(t: Tap.Test, url: string, room: string): Promise<EncryptedRawClient> {
  const client = await EncryptedRawClient.open(url)
  t.teardown(() => client.close())
  await client.handshake()
  await client.request('authenticate', { token: SECRET_TOKEN })
  await client.request('join', { rooms: [room] })
  return client
}

type Tap = typeof t
declare namespace Tap {
  type Test = Parameters<Parameters<Tap['test']>[1]>[0]
}

t.test('after the handshake no frame on the wire carries plaintext, in either direction', async (t) => {
  const { url, received } = await encryptedServer(t, 'required')
  const client = await EncryptedRawClient.open(url)
  t.teardown(() => client.close())
  const sentRaw: string[] = []
  const send = client.raw.ws.send.bind(client.raw.ws)
  client.raw.ws.send = ((data: string) => {
    sentRaw.push(String(data))
    send(data)
  }) as typeof client.raw.ws.send

  const reply = await client.handshake()
  t.equal(reply.data.version, 1)
  const connected = await client.request('authenticate', { token: SECRET_TOKEN })
  t.equal(connected.event, 'connected')
  t.equal(connected.data.userId, 'agent')
  t.same((await client.request('join', { rooms: ['ops'] })).data, { joined: ['ops'], refused: [] })
  const ack = await client.request('note.send', { room: 'ops', text: SECRET_TEXT })
  t.same(ack.data, { ok: true })
  const posted = await client.next('note.posted')
  t.same(posted.data, { text: SECRET_TEXT })
  t.same(received, [SECRET_TEXT])

  const afterHandshake = client.raw.frames.slice(client.raw.frames.findIndex((f) => f.event === 'key-exchange') + 1)
  t.ok(afterHandshake.length >= 4)
  t.ok(afterHandshake.every((f) => f.event === 'encrypted'), 'server → client: only encrypted frames')
  const outbound = sentRaw.slice(1)
  t.ok(outbound.every((s) => JSON.parse(s).event === 'encrypted'), 'client → server: only encrypted frames')
  const wire = JSON.stringify(afterHandshake) + outbound.join('')
  for (const secret of [SECRET_TOKEN, SECRET_TEXT, 'note.send', 'note.posted', 'agent', 'ops']) {
    t.notOk(wire.includes(secret), `"${secret}" does not appear on the wire`)
  }
})

t.test('required mode: nothing before the handshake, and a client that never starts it is closed 4010', async (t) => {
  const { url } = await encryptedServer(t, 'required')
  const client = await RawClient.open(url)
  t.teardown(() => client.close())
  const refused = await client.request('authenticate', { token: SECRET_TOKEN })
  t.equal(refused.event, 'error')
  t.equal(refused.data.code, 'encryption_failed')
  t.same(await client.whenClosed(), { code: 4010, reason: 'encryption handshake not completed' })
  t.notOk(client.frames.some((f) => f.event === 'connected'))
})

t.test('required mode with pre-upgrade authentication: connected arrives encrypted after the handshake', async (t) => {
  const server = await startServer({ encryption: 'required', authenticateRequest: () => ({ userId: 'pre' }) })
  t.teardown(() => server.app.close())
  const client = await EncryptedRawClient.open(server.url)
  t.teardown(() => client.close())
  await client.handshake()
  const connected = await client.next('connected')
  t.equal(connected.data.userId, 'pre')
  t.notOk(client.raw.frames.some((f) => f.event === 'connected'), 'no plaintext connected frame')
})

for (const [name, mutate, reason] of [
  ['tampered', (sealed: string) => flipLastByte(sealed), 'failed authentication'],
  ['truncated', (sealed: string) => sealed.slice(0, 16), 'truncated'],
] as const) {
  t.test(`a ${name} client frame is refused with 4011 and reaches no handler`, async (t) => {
    const { url, received } = await encryptedServer(t, 'optional')
    const client = await secureMember(t, url, 'ops')
    const sealed = await client.seal({ event: 'note.send', data: { room: 'ops', text: 'forged' }, id: 99 })
    client.raw.send({ event: 'encrypted', data: mutate(sealed) })
    const closed = await client.raw.whenClosed()
    t.equal(closed.code, 4011)
    t.match(closed.reason, reason)
    t.same(received, [])
  })
}

t.test('a replayed client frame is refused with 4011 and the handler runs once', async (t) => {
  const { url, received } = await encryptedServer(t, 'optional')
  const client = await secureMember(t, url, 'ops')
  const sealed = await client.send({ event: 'note.send', data: { room: 'ops', text: 'once' } })
  await until(() => received.length === 1)
  client.raw.send({ event: 'encrypted', data: sealed })
  const closed = await client.raw.whenClosed()
  t.equal(closed.code, 4011)
  t.match(closed.reason, /counter 2, expected 3/)
  t.same(received, ['once'])
})

t.test('plaintext after the handshake, and a second key exchange inside the channel, are refused with 4011', async (t) => {
  const { url, received } = await encryptedServer(t, 'optional')
  const plain = await EncryptedRawClient.open(url)
  t.teardown(() => plain.close())
  await plain.handshake()
  plain.raw.send({ event: 'authenticate', data: { token: SECRET_TOKEN } })
  t.same(await plain.raw.whenClosed(), { code: 4011, reason: 'plaintext frame after the key exchange' })

  const downgrade = await EncryptedRawClient.open(url)
  t.teardown(() => downgrade.close())
  await downgrade.handshake()
  await downgrade.send({ event: 'key-exchange', data: { version: 1, publicKey: 'x'.repeat(88), nonce: 'y'.repeat(24) } })
  const error = await downgrade.next('error')
  t.equal(error.data.code, 'encryption_failed')
  t.equal((await downgrade.raw.whenClosed()).code, 4011)
  t.same(received, [])
})

t.test('a room with plain and encrypted members: each gets the message in its own form', async (t) => {
  const { app, url } = await encryptedServer(t, 'optional')
  const secure = await secureMember(t, url, 'mixed')
  const { client: plain } = await connect(url, { token: SECRET_TOKEN })
  t.teardown(() => plain.close())
  t.equal((await plain.request('join', { rooms: ['mixed'] })).event, 'ack')

  const before = plain.frames.length
  app.roomcast.rooms.to('mixed').emit('note.posted', { text: 'to everyone' })
  const clear = await plain.next('note.posted')
  t.same(clear.data, { text: 'to everyone' })
  t.equal(clear.room, 'mixed')
  const decrypted = await secure.next('note.posted')
  t.same(decrypted.data, { text: 'to everyone' })
  t.equal(decrypted.room, 'mixed')
  t.equal(plain.frames.length, before + 1)
})

t.test('a fan-out to many encrypted members keeps every member\'s order', async (t) => {
  const { app, url } = await encryptedServer(t, 'optional', { encryptionBatchSize: 3 })
  const members = await Promise.all(Array.from({ length: 8 }, () => secureMember(t, url, 'big')))
  for (let i = 0; i < 20; i++) app.roomcast.rooms.to('big').emit('note.posted', { text: `m${i}` })
  for (const member of members) {
    const texts: string[] = []
    for (let i = 0; i < 20; i++) texts.push((await member.next('note.posted')).data.text)
    t.same(texts, Array.from({ length: 20 }, (_, i) => `m${i}`))
  }
})

t.test('with encryption off a key exchange gets an error and the connection stays usable', async (t) => {
  const server = await startServer({})
  t.teardown(() => server.app.close())
  const { client } = await connect(server.url)
  t.teardown(() => client.close())
  const reply = await client.request('key-exchange', { version: 1, publicKey: 'x'.repeat(88), nonce: 'y'.repeat(24) })
  t.equal(reply.event, 'error')
  t.equal(reply.data.code, 'encryption_failed')
  t.equal((await client.request('join', { rooms: ['still-open'] })).event, 'ack')
})

function flipLastByte(sealed: string): string {
  const bytes = Uint8Array.from(atob(sealed), (c) => c.charCodeAt(0))
  bytes[bytes.length - 1]! ^= 0x80
  return btoa(String.fromCharCode(...bytes))
}

t.test('optional mode: a client that announces e2e=1 gets nothing in plaintext before its key exchange', async (t) => {
  const server = await startServer({ encryption: 'optional' })
  t.teardown(() => server.app.close())
  const client = await EncryptedRawClient.open(server.url + '?e2e=1')
  t.teardown(() => client.close())
  const reply = await client.handshake()
  t.equal(client.raw.frames[0], reply, 'the key exchange reply is the first frame')
  const connected = await client.next('connected')
  t.equal(connected.data.connectionId, reply.data.connectionId)

  // Without the announcement an optional server greets at once, in plaintext.
  const { client: plain, connected: greeting } = await connect(server.url)
  t.teardown(() => plain.close())
  t.equal(greeting.event, 'connected')
})
