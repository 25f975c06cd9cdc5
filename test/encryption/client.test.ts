import t from 'tap'
import WebSocket from 'ws'
import { clientEncryption, type RoomcastClient } from '../../client/index.js'
import { events, inState, nextEvent, startTestServer, testClient, type TestEvents } from '../helpers/client.js'
import { relayServer } from '../helpers/encryption.js'

type Test = Parameters<Parameters<typeof t.test>[1]>[0]

/**
 * A real WebSocket relay between the client and the server. Every frame is recorded; the
 * server→client direction passes through `tamper`, which may change, repeat or drop frames.
 */
async function relay(t: Test, upstream: string, tamper?: (frame: string, toClient: (f: string) => void, history: string[]) => void) {
  const wire: { up: string[]; down: string[] } = { up: [], down: [] }
  const url = await relayServer(
    (fn) => t.teardown(fn),
    upstream,
    (client, server) => {
      const pending: string[] = []
      server.on('open', () => pending.splice(0).forEach((f) => server.send(f)))
      client.on('message', (data) => {
        const frame = data.toString()
        wire.up.push(frame)
        if (server.readyState === WebSocket.OPEN) server.send(frame)
        else pending.push(frame)
      })
      server.on('message', (data) => {
        const frame = data.toString()
        wire.down.push(frame)
        const forward = (f: string): void => {
          if (client.readyState === WebSocket.OPEN) client.send(f)
        }
        if (tamper === undefined) forward(frame)
        else tamper(frame, forward, wire.down)
      })
      client.on('close', () => server.terminate())
      server.on('close', (code) => {
        if (client.readyState === WebSocket.OPEN) client.close(code === 1005 ? 1000 : code)
      })
    },
  )
  return { url, wire }
}

async function encryptedPair(t: Test, tamper?: Parameters<typeof relay>[2]) {
  const server = await startTestServer({ encryption: 'required' })
  t.teardown(() => server.close())
  const proxy = await relay(t, server.url, tamper)
  const client = testClient(proxy.url, { transform: clientEncryption(), reconnect: false })
  t.teardown(() => client.close())
  return { server, proxy, client }
}

t.test('emit, request, join and handlers work unchanged; the wire carries none of it', async (t) => {
  const { proxy, client } = await encryptedPair(t)
  await client.ready()
  t.equal(client.encrypted, true)
  const said = new Promise<TestEvents['toClient']['said'] extends infer _ ? { from: string; text: string } : never>((resolve) => client.once('said', resolve))
  t.same(await client.join('vault'), { joined: ['vault'], refused: [] })
  t.same(await client.request('echo', { text: 'classified' }), { text: 'classified', userId: 'alice' })
  client.emit('say', { room: 'vault', text: 'launch codes' })
  t.same(await said, { from: 'alice', text: 'launch codes' })

  const afterHandshake = (frames: string[]): string[] => frames.slice(frames.findIndex((f) => f.includes('"key-exchange"')) + 1)
  t.ok(afterHandshake(proxy.wire.up).length >= 3)
  t.ok([...afterHandshake(proxy.wire.up), ...afterHandshake(proxy.wire.down)].every((f) => JSON.parse(f).event === 'encrypted'))
  const everything = proxy.wire.up.join('') + proxy.wire.down.join('')
  for (const secret of ['classified', 'launch codes', 'vault', 'alice', 'echoed', '"say"']) {
    t.notOk(everything.includes(secret), `"${secret}" never crosses the wire`)
  }
})

const attacks: Array<[string, (frame: string, toClient: (f: string) => void, history: string[]) => void]> = [
  [
    'a tampered frame',
    (frame, toClient) => {
      const parsed = JSON.parse(frame) as { event: string; data: string }
      if (parsed.event === 'encrypted' && frame.length > 120) {
        const bytes = Uint8Array.from(atob(parsed.data), (c) => c.charCodeAt(0))
        bytes[bytes.length - 3]! ^= 0x10
        toClient(JSON.stringify({ event: 'encrypted', data: btoa(String.fromCharCode(...bytes)) }))
      } else toClient(frame)
    },
  ],
  [
    'a replayed frame',
    (frame, toClient, history) => {
      toClient(frame)
      if (JSON.parse(frame).event === 'encrypted' && frame.length > 120) toClient(history.find((f) => JSON.parse(f).event === 'encrypted')!)
    },
  ],
  [
    'a truncated frame',
    (frame, toClient) => {
      const parsed = JSON.parse(frame) as { event: string; data: string }
      if (parsed.event === 'encrypted' && frame.length > 120) toClient(JSON.stringify({ event: 'encrypted', data: parsed.data.slice(0, 12) }))
      else toClient(frame)
    },
  ],
  [
    'an injected plaintext frame',
    (frame, toClient) => {
      toClient(frame)
      if (JSON.parse(frame).event === 'encrypted' && frame.length > 120) toClient(JSON.stringify({ event: 'said', data: { from: 'mallory', text: 'forged' } }))
    },
  ],
]

for (const [name, tamper] of attacks) {
  t.test(`${name} from the server side is refused: the client drops the connection with 4011 and calls no handler`, async (t) => {
    const { client } = await encryptedPair(t, tamper)
    const handled: unknown[] = []
    client.on('said', (data) => handled.push(data))
    client.on('echoed', (data) => handled.push(data))
    const disconnected = nextEvent(client as RoomcastClient<TestEvents>, 'disconnected')
    // The attack may hit `connected` itself, before the client is ready, or the echo after it.
    client.ready().then(
      () => client.emit('echo', { text: 'ping' }),
      () => undefined,
    )
    const info = await disconnected
    t.equal(info.code, 4011, JSON.stringify(info))
    t.match(info.reason, /refused by the transform/)
    t.equal(info.error?.code, 'encryption_failed')
    await inState(client, 'disconnected')
    t.same(handled, [])
  })
}

t.test('against a server without encryption the client stops with encryption_failed instead of talking plaintext', async (t) => {
  const server = await startTestServer({})
  t.teardown(() => server.close())
  const client = testClient(server.url, { transform: clientEncryption() })
  t.teardown(() => client.close())
  const info = await nextEvent(client as RoomcastClient<TestEvents>, 'disconnected')
  t.equal(info.error?.code, 'encryption_failed')
  t.match(info.reason, /encryption is not enabled on this server/)
  t.equal(client.state, 'disconnected')
  t.equal(client.encrypted, false)
})

t.test('after a reconnect the client runs a fresh key exchange and its rooms come back encrypted', async (t) => {
  const server = await startTestServer({ encryption: 'required' })
  t.teardown(() => server.close())
  const client = testClient(server.url, { transform: clientEncryption() })
  t.teardown(() => client.close())
  await client.ready()
  await client.join('vault')
  const firstId = client.connectionId
  const reconnected = nextEvent(client as RoomcastClient<TestEvents>, 'connected')
  await server.app.roomcast.connections.disconnect(firstId!, 4005, 'draining')
  const info = await reconnected
  t.equal(info.reconnected, true)
  t.equal(info.encrypted, true)
  t.not(client.connectionId, firstId)
  t.same([...client.rooms], ['vault'])
  const said = new Promise<{ text: string }>((resolve) => client.once('said', resolve))
  server.app.roomcast.rooms.to('vault').emit('said', { from: 'server', text: 'welcome back' })
  t.same(await said, { from: 'server', text: 'welcome back' })
  t.ok(events)
})
