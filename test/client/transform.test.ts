import t from 'tap'
import WebSocket, { WebSocketServer, type RawData } from 'ws'
import { CloseCode, RoomcastClient, type ClientTransformFactory, type FrameTransform } from '../../client/index.js'
import { delay, until } from '../helpers/server.js'

/** A toy transform: reversed text behind a marker, with random async delays to test ordering. */
const encodeToy = (text: string): string => 'T' + [...text].reverse().join('')
const decodeToy = (text: string): string => {
  if (!text.startsWith('T')) throw new Error('not a transformed frame')
  return [...text.slice(1)].reverse().join('')
}

function toyFactory(log: string[]): ClientTransformFactory {
  return {
    query: { toy: '1' },
    async handshake(channel) {
      log.push('handshake')
      channel.send('hello')
      const answer = await channel.receive()
      if (answer !== 'welcome') throw new Error(`unexpected handshake answer ${answer}`)
      await delay(5) // frames that arrive meanwhile must not be lost
      const transform: FrameTransform = {
        encode: async (text) => {
          await delay(Math.random() * 3)
          return encodeToy(text)
        },
        decode: async (text) => {
          await delay(Math.random() * 3)
          return decodeToy(text)
        },
        dispose: () => log.push('dispose'),
      }
      return transform
    },
  }
}

/** A server speaking the toy transform: handshake, then every frame transformed both ways. */
async function toyServer(t: {
  teardown(fn: () => unknown): void
}): Promise<{ port: number; urls: string[]; received: unknown[]; sockets: WebSocket[]; closes: number[] }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  await new Promise((resolve) => wss.once('listening', resolve))
  const state = {
    port: (wss.address() as { port: number }).port,
    urls: [] as string[],
    received: [] as unknown[],
    sockets: [] as WebSocket[],
    closes: [] as number[],
  }
  wss.on('connection', (socket, request) => {
    state.sockets.push(socket)
    state.urls.push(request.url ?? '')
    socket.on('close', (code) => state.closes.push(code))
    const send = (frame: unknown): void => socket.send(encodeToy(JSON.stringify(frame)))
    socket.once('message', (hello: RawData) => {
      if (hello.toString() !== 'hello') return socket.close(4011)
      socket.send('welcome')
      // Sent right away: it reaches the client while its handshake is still finishing.
      send({ event: 'early', data: { n: 0 } })
      socket.on('message', (raw: RawData) => {
        const envelope = JSON.parse(decodeToy(raw.toString())) as { event: string; data: { n: number } & Record<string, unknown>; id?: number }
        state.received.push(envelope.event === 'authenticate' ? envelope : envelope.data)
        if (envelope.event === 'authenticate') {
          send({ event: 'connected', id: envelope.id, data: { connectionId: 'toy', rooms: [], heartbeat: { interval: 60_000, timeout: 120_000 } } })
        } else if (envelope.event === 'note') {
          send({ event: 'noted', data: { n: envelope.data.n } })
        } else if (envelope.event === 'poison') {
          socket.send('plaintext that the client must refuse')
        }
      })
    })
  })
  t.teardown(() => {
    for (const socket of state.sockets) socket.terminate()
    return new Promise<void>((resolve) => wss.close(() => resolve()))
  })
  return state
}

t.test('the transform seam: handshake before authenticate, every frame transformed, in order', async (t) => {
  const server = await toyServer(t)
  const log: string[] = []
  const client = new RoomcastClient(`ws://127.0.0.1:${server.port}/ws`, {
    WebSocket,
    auth: async () => {
      log.push('auth')
      return { token: 'secret' }
    },
    transform: toyFactory(log),
  })
  t.teardown(() => client.close())
  const seen: number[] = []
  client.on('early', (data) => seen.push((data as { n: number }).n))
  client.on('noted', (data) => seen.push((data as { n: number }).n))
  const connected = await new Promise<{ encrypted: boolean }>((resolve) => client.once('connected', resolve))
  t.equal(connected.encrypted, true)
  t.equal(client.encrypted, true)
  t.same(server.urls, ['/ws?toy=1'], 'the transform announces itself in the query')
  t.same(server.received[0], { event: 'authenticate', data: { token: 'secret' }, id: 1 }, 'authenticate went through the transform')
  t.same(log, ['auth', 'handshake'], 'credentials are fetched while the socket opens, and sent after the handshake')

  for (let n = 1; n <= 20; n++) client.emit('note', { n })
  await until(() => seen.length === 21, 5000, 'all echoes')
  t.same(
    server.received.slice(1),
    Array.from({ length: 20 }, (_, i) => ({ n: i + 1 })),
    'the server got every frame in order',
  )
  t.same(
    seen,
    Array.from({ length: 21 }, (_, i) => i),
    'the client got the early frame and every echo in order',
  )

  // A frame the transform refuses: reported, the connection dropped with 4011 and not retried.
  const error = new Promise<{ code: string }>((resolve) => client.once('error', resolve))
  const ended = new Promise<{ code: number }>((resolve) => client.once('disconnected', resolve))
  client.emit('poison', {})
  t.equal((await error).code, 'encryption_failed')
  t.equal((await ended).code, CloseCode.EncryptionViolation)
  await until(() => server.closes.length === 1, 5000, 'the server saw the close')
  t.same(server.closes, [CloseCode.EncryptionViolation])
  t.ok(log.includes('dispose'), 'the transform was disposed')
  t.equal(server.sockets.length, 1, 'no reconnection after a violation')
})

t.test('a failing handshake is an error and a terminal close', async (t) => {
  const server = await toyServer(t)
  const client = new RoomcastClient(`ws://127.0.0.1:${server.port}/ws`, {
    WebSocket,
    transform: { handshake: async () => Promise.reject(new Error('no common cipher')) },
  })
  t.teardown(() => client.close())
  const error = new Promise<{ code: string; message: string }>((resolve) => client.once('error', resolve))
  const failure = await error
  t.equal(failure.code, 'encryption_failed')
  t.match(failure.message, /no common cipher/)
  await until(() => client.state === 'disconnected', 5000, 'disconnected')
  t.equal(server.urls.length, 1)
})
