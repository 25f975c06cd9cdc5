import t from 'tap'
import { EncryptionError, KeyExchange, type SecureChannel } from '../../shared/e2e/index.js'

async function pair(connectionId = 'conn-1'): Promise<{ client: SecureChannel; server: SecureChannel }> {
  const client = await KeyExchange.create('client')
  const server = await KeyExchange.create('server')
  return {
    client: await client.complete(server, connectionId),
    server: await server.complete(client, connectionId),
  }
}

function sealed(channel: SecureChannel, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    channel.send(text, resolve).catch(reject)
  })
}

async function rejection(promise: Promise<unknown>): Promise<EncryptionError> {
  try {
    await promise
  } catch (err) {
    if (err instanceof EncryptionError) return err
    throw err
  }
  throw new Error('expected a rejection')
}

t.test('both directions round-trip and the ciphertext hides the plaintext', async (t) => {
  const { client, server } = await pair()
  const up = await sealed(client, '{"event":"chat.send","data":{"text":"secret words"}}')
  t.notMatch(atob(up), /secret words|chat\.send/)
  t.equal(await server.receive(up), '{"event":"chat.send","data":{"text":"secret words"}}')
  const down = await sealed(server, 'reply ✓')
  t.equal(await client.receive(down), 'reply ✓')
})

t.test('writes and reads keep order under concurrency', async (t) => {
  const { client, server } = await pair()
  const frames: string[] = []
  await Promise.all(Array.from({ length: 50 }, (_, i) => client.send(`m${i}`, (s) => frames.push(s))))
  const opened = await Promise.all(frames.map((frame) => server.receive(frame)))
  t.same(
    opened,
    Array.from({ length: 50 }, (_, i) => `m${i}`),
  )
})

t.test('replayed, reordered, tampered, truncated and malformed frames are rejected', async (t) => {
  const { client, server } = await pair()
  const first = await sealed(client, 'one')
  const second = await sealed(client, 'two')
  const third = await sealed(client, 'three')
  t.equal((await rejection(server.receive(second))).reason, 'out_of_order')
  t.equal(await server.receive(first), 'one')
  t.equal((await rejection(server.receive(first))).reason, 'replayed')
  t.equal(await server.receive(second), 'two')

  const bytes = Uint8Array.from(atob(third), (c) => c.charCodeAt(0))
  bytes[bytes.length - 1]! ^= 0x01
  t.equal((await rejection(server.receive(btoa(String.fromCharCode(...bytes))))).reason, 'tampered')

  const { client: c2, server: s2 } = await pair()
  const whole = await sealed(c2, 'a longer message to cut short')
  const cut = Uint8Array.from(atob(whole), (c) => c.charCodeAt(0)).subarray(0, 20)
  t.equal((await rejection(s2.receive(btoa(String.fromCharCode(...cut))))).reason, 'malformed')
  t.equal((await rejection(s2.receive('%%% not base64'))).reason, 'malformed')
})

t.test('a frame recorded on one connection does not open on another', async (t) => {
  const first = await pair('conn-A')
  const frame = await sealed(first.client, 'hello')
  const second = await pair('conn-B')
  t.equal((await rejection(second.server.receive(frame))).reason, 'tampered')
})

t.test('the same key pairs with a different connection id derive different keys', async (t) => {
  const client = await KeyExchange.create('client')
  const server = await KeyExchange.create('server')
  const a = await client.complete(server, 'conn-A')
  const b = await server.complete(client, 'conn-B')
  const frame = await sealed(a, 'bound')
  t.equal((await rejection(b.receive(frame))).reason, 'tampered')
})
