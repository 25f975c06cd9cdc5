import t from 'tap'
import { clientEncryption, generateServerIdentity, type RoomcastClient } from '../../client/index.js'
import { encryptedFrame, KeyExchange, type SecureChannel } from '../../shared/e2e/index.js'
import { nextEvent, startTestServer, testClient, type TestEvents } from '../helpers/client.js'
import { relayServer } from '../helpers/encryption.js'

type Test = Parameters<Parameters<typeof t.test>[1]>[0]

/**
 * An active man in the middle: it answers the client's key exchange with keys of its own, runs
 * a second key exchange with the server, and re-encrypts every frame, reading all of it. The
 * server's reply (and its signature, when there is one) is passed on with the keys swapped.
 */
async function interceptor(t: Test, upstream: string) {
  const readable: string[] = []
  const url = await relayServer(
    (fn) => t.teardown(fn),
    upstream,
    (client, server) => {
      let toServer: SecureChannel | undefined
      let toClient: SecureChannel | undefined
      let clientHello: { publicKey: string; nonce: string } | undefined
      let towardServer: KeyExchange | undefined
      let towardClient: KeyExchange | undefined
      const serverOpen = new Promise((resolve) => server.once('open', resolve))
      client.on('message', async (data) => {
        const frame = JSON.parse(data.toString()) as { event: string; data: unknown }
        if (frame.event === 'key-exchange') {
          clientHello = frame.data as { publicKey: string; nonce: string }
          towardServer = await KeyExchange.create('client')
          towardClient = await KeyExchange.create('server')
          await serverOpen
          server.send(JSON.stringify({ event: 'key-exchange', data: { version: 1, publicKey: towardServer.publicKey, nonce: towardServer.nonce }, id: 0 }))
          return
        }
        const text = await toClient!.receive(frame.data as string)
        readable.push(text)
        await toServer!.send(text, (sealed) => server.send(encryptedFrame(sealed)))
      })
      server.on('message', async (data) => {
        const frame = JSON.parse(data.toString()) as { event: string; data: Record<string, string> }
        if (frame.event === 'key-exchange') {
          const reply = frame.data
          toServer = await towardServer!.complete(reply as { publicKey: string; nonce: string }, reply.connectionId!)
          toClient = await towardClient!.complete(clientHello!, reply.connectionId!)
          client.send(JSON.stringify({ ...frame, data: { ...reply, publicKey: towardClient!.publicKey, nonce: towardClient!.nonce } }))
          return
        }
        const text = await toServer!.receive(frame.data as unknown as string)
        readable.push(text)
        await toClient!.send(text, (sealed) => client.send(encryptedFrame(sealed)))
      })
      client.on('close', () => server.terminate())
      server.on('close', () => client.terminate())
    },
  )
  return { url, readable }
}

t.test('without a pinned identity an active man in the middle reads everything (the documented limit)', async (t) => {
  const server = await startTestServer({ encryption: 'required' })
  t.teardown(() => server.close())
  const mitm = await interceptor(t, server.url)
  const client = testClient(mitm.url, { transform: clientEncryption(), reconnect: false })
  t.teardown(() => client.close())
  await client.ready()
  t.equal(client.encrypted, true, 'the client believes its connection to the server is encrypted')
  t.same(await client.request('echo', { text: 'classified' }), { text: 'classified', userId: 'alice' })
  t.ok(
    mitm.readable.some((text) => text.includes('classified')),
    'and the interceptor read the request',
  )
})

t.test('with the server identity pinned, the same interceptor is refused before anything is sent', async (t) => {
  const identity = await generateServerIdentity()
  const server = await startTestServer({ encryption: 'required', encryptionIdentity: identity.privateKey })
  t.teardown(() => server.close())
  const mitm = await interceptor(t, server.url)
  const client = testClient(mitm.url, { transform: clientEncryption({ serverIdentity: identity.publicKey }) })
  t.teardown(() => client.close())
  const error = nextEvent(client as RoomcastClient<TestEvents>, 'error')
  const info = await nextEvent(client as RoomcastClient<TestEvents>, 'disconnected')
  t.equal(info.error.code, 'encryption_failed')
  t.match((await error).message, /not signed by the pinned server identity/)
  t.equal(client.state, 'disconnected', 'not retried: the same handshake would fail again')
  t.same(mitm.readable, [], 'not even the credentials went out')
})

t.test('with the server identity pinned and no one in the middle, everything works', async (t) => {
  const identity = await generateServerIdentity()
  const server = await startTestServer({ encryption: 'required', encryptionIdentity: identity.privateKey })
  t.teardown(() => server.close())
  const client = testClient(server.url, { transform: clientEncryption({ serverIdentity: identity.publicKey }) })
  t.teardown(() => client.close())
  await client.ready()
  t.equal(client.encrypted, true)
  t.same(await client.request('echo', { text: 'fine' }), { text: 'fine', userId: 'alice' })
})

t.test('a client pinned to another identity, or to one the server does not have, refuses the server', async (t) => {
  const identity = await generateServerIdentity()
  const other = await generateServerIdentity()
  for (const serverOptions of [{ encryptionIdentity: identity.privateKey }, {}]) {
    const server = await startTestServer({ encryption: 'required', ...serverOptions })
    let authenticated = 0
    server.app.roomcast.addHook('authenticated', () => {
      authenticated++
    })
    const client = testClient(server.url, { transform: clientEncryption({ serverIdentity: other.publicKey }) })
    const info = await nextEvent(client as RoomcastClient<TestEvents>, 'disconnected')
    t.equal(info.error.code, 'encryption_failed')
    t.equal(authenticated, 0, 'the server saw no authentication')
    client.close()
    await server.close()
  }
})

t.test('a malformed encryptionIdentity fails the registration, a malformed pin fails the handshake', async (t) => {
  await t.rejects(
    startTestServer({ encryption: 'required', encryptionIdentity: { kty: 'EC', crv: 'P-256', d: 'nope' } }),
    /encryptionIdentity is not an ECDSA P-256 private key/,
  )
  const server = await startTestServer({ encryption: 'required' })
  t.teardown(() => server.close())
  const client = testClient(server.url, { transform: clientEncryption({ serverIdentity: 'not-a-key' }) })
  t.teardown(() => client.close())
  const error = await nextEvent(client as RoomcastClient<TestEvents>, 'error')
  t.equal(error.code, 'encryption_failed')
  t.match(error.message, /serverIdentity is not a base64 P-256 public key/)
})
