import t from 'tap'
import { defineEvents, Type } from '../../shared/index.js'
import { EncryptedRawClient } from '../helpers/encryption.js'
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
      app.roomcast.on('note.send', (_connection, data) => {
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
  t.ok(
    afterHandshake.every((f) => f.event === 'encrypted'),
    'server → client: only encrypted frames',
  )
  const outbound = sentRaw.slice(1)
  t.ok(
    outbound.every((s) => JSON.parse(s).event === 'encrypted'),
    'client → server: only encrypted frames',
  )
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
  t.notOk(
    client.raw.frames.some((f) => f.event === 'connected'),
    'no plaintext connected frame',
  )
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

t.test("a fan-out to many encrypted members keeps every member's order", async (t) => {
  const { app, url } = await encryptedServer(t, 'optional', { encryptionBatchSize: 3 })
  const members = await Promise.all(Array.from({ length: 8 }, () => secureMember(t, url, 'big')))
  for (let i = 0; i < 20; i++) app.roomcast.rooms.to('big').emit('note.posted', { text: `m${i}` })
  for (const member of members) {
    const texts: string[] = []
    for (let i = 0; i < 20; i++) texts.push((await member.next('note.posted')).data.text)
    t.same(
      texts,
      Array.from({ length: 20 }, (_, i) => `m${i}`),
    )
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

/** Flips one character of a sealed frame's ciphertext (past the counter), so it fails authentication. */
function tamper(sealed: string): string {
  const at = 20
  return sealed.slice(0, at) + (sealed[at] === 'A' ? 'B' : 'A') + sealed.slice(at + 1)
}

t.test('a tampered frame right behind a large valid one, in one turn: 4011 and the server keeps running', async (t) => {
  const { url, app, received } = await encryptedServer(t, 'required')
  // The large frame takes longer to decrypt, so the small tampered one often fails first; which
  // one finishes first is up to the thread pool, hence several rounds.
  const rounds = 60
  for (let round = 0; round < rounds; round++) {
    const client = await secureMember(t, url, 'r')
    const big = await client.seal({ event: 'note.send', data: { room: 'r', text: 'x'.repeat(60_000) } })
    const small = tamper(await client.seal({ event: 'note.send', data: { room: 'r', text: 'y' } }))
    client.raw.send({ event: 'encrypted', data: big })
    client.raw.send({ event: 'encrypted', data: small })
    t.equal((await client.raw.whenClosed()).code, 4011)
  }
  t.same(
    received,
    Array.from({ length: rounds }, () => 'x'.repeat(60_000)),
    'each valid frame ahead was handled, no tampered one was',
  )
  // The process is still up and serving.
  const other = await secureMember(t, url, 'r')
  t.equal((await other.request('note.send', { room: 'r', text: 'still here' })).event, 'ack')
  t.equal(app.roomcast.connections.count(), 1)
})

t.test('an error sent just before a close reaches an encrypted client, decrypted, before the close', async (t) => {
  const { url } = await encryptedServer(t, 'required', { rateLimit: { max: 6, windowMs: 60_000 } })
  const client = await secureMember(t, url, 'r')
  for (let i = 0; i < 8; i++) void client.send({ event: 'note.send', data: { room: 'r', text: `n${i}` } })
  const error = await client.next('error')
  t.equal((error.data as { code: string }).code, 'rate_limited')
  t.equal((await client.raw.whenClosed()).code, 1008)
})

t.test('maxPayload limits the decrypted message: encryption neither shrinks nor widens it', async (t) => {
  const { url, received } = await encryptedServer(t, 'required', { maxPayload: 4096 })
  const client = await secureMember(t, url, 'r')
  // 3,900 characters fit in 4,096 bytes as plaintext; sealed and in base64 the frame is larger.
  const fits = 'f'.repeat(3900)
  const sent = await client.send({ event: 'note.send', data: { room: 'r', text: fits }, id: 100 })
  const frameLength = JSON.stringify({ event: 'encrypted', data: sent }).length
  t.ok(frameLength > 4096, `the sealed frame (${frameLength} bytes) is over maxPayload`)
  t.equal((await client.next((frame) => frame.id === 100)).event, 'ack', 'and accepted')
  t.same(received, [fits])
  // One byte over: its sealed frame is no longer than a 4,096-byte message's, so only the check
  // of the decrypted message can refuse it.
  const wrapper = JSON.stringify({ event: 'note.send', data: { room: 'r', text: '' } }).length
  void client.send({ event: 'note.send', data: { room: 'r', text: 'g'.repeat(4097 - wrapper) } })
  t.same(await client.raw.whenClosed(), { code: 1009, reason: 'message too big' })
  t.same(received, [fits], 'the oversized message never reached the handler')
})

t.test('maxPayload on encrypted connections: a frame too large even sealed is refused by the socket with 1009', async (t) => {
  const { url, received } = await encryptedServer(t, 'required', { maxPayload: 4096 })
  const client = await secureMember(t, url, 'r')
  void client.send({ event: 'note.send', data: { room: 'r', text: 'g'.repeat(6000) } })
  t.equal((await client.raw.whenClosed()).code, 1009)
  t.same(received, [])
})

t.test('drop backpressure on an encrypted member skips whole messages, never leaves a gap in the sequence', async (t) => {
  const { app, url } = await encryptedServer(t, 'optional', { backpressure: { maxBufferedBytes: 64 * 1024, policy: 'drop' } })
  const slow = await secureMember(t, url, 'feed')
  const connection = app.roomcast.connections.get((await app.roomcast.rooms.members('feed'))[0]!.connectionId)!
  const socket = (slow.raw.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket
  socket.pause()
  const text = 'z'.repeat(16 * 1024)
  for (let round = 0; round < 60 && connection.dropped === 0; round++) {
    for (let i = 0; i < 4; i++) app.roomcast.rooms.to('feed').emit('note.posted', { text })
    await new Promise((resolve) => setImmediate(resolve))
  }
  t.ok(connection.dropped > 0, `the server dropped messages for the slow reader (${connection.dropped})`)
  socket.resume()
  app.roomcast.rooms.to('feed').emit('note.posted', { text: 'after the jam' })
  const after = await slow.next((frame) => frame.event === 'note.posted' && (frame.data as { text: string }).text === 'after the jam', 10_000)
  t.ok(after, 'the message after the jam decrypts: the counters stayed in sequence')
  const notice = await slow.next((frame) => frame.event === 'dropped', 10_000)
  t.same(notice.data, { count: connection.dropped }, 'the gap notice arrives encrypted too')
  t.equal(slow.raw.ws.readyState, 1, 'the connection is still open')
})
