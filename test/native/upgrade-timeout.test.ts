import { once } from 'node:events'
import net, { type AddressInfo } from 'node:net'
import tls from 'node:tls'
import Fastify from 'fastify'
import t from 'tap'
import WebSocket from 'ws'
import roomcast from '../../plugin/index.js'
import { APP } from '../helpers/pusher.js'
import { connect, delay, startServer } from '../helpers/server.js'
import { selfSignedCertificate } from '../helpers/tls.js'

const UPGRADE_TIMEOUT = 200

/** A raw TCP connection to the server; resolves once connected. */
function rawSocket(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket))
    socket.once('error', reject)
  })
}

/** Resolves with what the server sent before closing the socket (the test times out if it never does). */
function closedByServer(socket: net.Socket): Promise<string> {
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  socket.on('error', () => {})
  return new Promise((resolve) => socket.once('close', () => resolve(Buffer.concat(chunks).toString('latin1'))))
}

function partialUpgrade(path: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n`
}

t.test('connections that send nothing or a partial upgrade request are closed after upgradeTimeout, on both protocols', { timeout: 20_000 }, async (t) => {
  const { app, port } = await startServer({ upgradeTimeout: UPGRADE_TIMEOUT, pusher: { apps: [APP] } })
  t.teardown(() => app.close())

  const silent = await rawSocket(port)
  const native = await rawSocket(port)
  const pusher = await rawSocket(port)
  t.teardown(() => [silent, native, pusher].forEach((socket) => socket.destroy()))
  const closed = [closedByServer(silent), closedByServer(native), closedByServer(pusher)]
  native.write(partialUpgrade('/ws'))
  pusher.write(partialUpgrade(`/app/${APP.key}?protocol=7`))

  const answers = await Promise.all(closed)
  for (const answer of answers) t.match(answer, /^HTTP\/1\.1 408 Request Timeout\r\n/, 'a 408, then the socket is closed')
})

t.test('upgradeTimeout cuts neither finished upgrades nor slow ordinary requests', { timeout: 20_000 }, async (t) => {
  const { app, url, port } = await startServer({ upgradeTimeout: UPGRADE_TIMEOUT, authenticate: () => ({ userId: 'u' }) }, (app) => {
    app.post('/upload', async (request) => ({ received: (request.body as string).length }))
    app.addContentTypeParser('text/plain', { parseAs: 'string' }, (_request, body, done) => done(null, body))
  })
  t.teardown(() => app.close())
  const { client } = await connect(url, {})
  t.teardown(() => client.close())

  // An upload whose body arrives well after the upgrade deadline.
  const upload = await rawSocket(port)
  t.teardown(() => upload.destroy())
  const response = closedByServer(upload)
  upload.write('POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 6\r\nConnection: close\r\n\r\nabc')
  await delay(UPGRADE_TIMEOUT * 3)
  upload.write('def')
  t.match(await response, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\{"received":6\}$/, 'the slow upload completes')

  // The WebSocket opened before the deadline is still served after it.
  const reply = await client.request('join', { rooms: ['r'] })
  t.equal(reply.event, 'ack')
  t.equal(client.closed, undefined)
})

t.test('an upgrade whose hooks outlast upgradeTimeout is closed, and the server carries on', { timeout: 20_000 }, async (t) => {
  let release: () => void = () => {}
  const held = new Promise<void>((resolve) => (release = resolve))
  let calls = 0
  const { app, url, port } = await startServer({
    upgradeTimeout: UPGRADE_TIMEOUT,
    authenticateRequest: async () => {
      if (calls++ === 0) await held
      return { userId: 'u' }
    },
  })
  t.teardown(() => app.close())
  const socket = await rawSocket(port)
  t.teardown(() => socket.destroy())
  const closed = closedByServer(socket)
  socket.write(`${partialUpgrade('/ws')}Sec-WebSocket-Key: ${Buffer.alloc(16, 1).toString('base64')}\r\n\r\n`)
  t.match(await closed, /^HTTP\/1\.1 408 Request Timeout\r\n/)
  // The hook finishes after its socket is gone: nothing breaks, and the next upgrade is served.
  release()
  const { client, connected } = await connect(url)
  t.teardown(() => client.close())
  t.equal((connected.data as { userId: string }).userId, 'u')
})

t.test('over TLS, a finished upgrade outlives upgradeTimeout and a silent connection is cut without a 408', { timeout: 20_000 }, async (t) => {
  const certificate = selfSignedCertificate()
  t.teardown(() => certificate.remove())
  const app = Fastify({ https: { cert: certificate.cert, key: certificate.key } })
  await app.register(roomcast, { upgradeTimeout: UPGRADE_TIMEOUT, authenticate: () => ({ userId: 'u' }) })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const port = (app.server.address() as AddressInfo).port

  const ws = new WebSocket(`wss://127.0.0.1:${port}/ws`, { ca: certificate.cert })
  t.teardown(() => ws.terminate())
  await once(ws, 'open')
  // The deadline is on the TCP socket under the TLS one; the upgrade must have cancelled it.
  await delay(UPGRADE_TIMEOUT * 3)
  ws.send(JSON.stringify({ event: 'authenticate', data: {}, id: 1 }))
  const [answer] = (await once(ws, 'message')) as [Buffer]
  t.match(JSON.parse(answer.toString()), { event: 'connected', id: 1, data: { userId: 'u' } }, 'still served after the deadline')

  const silent = tls.connect({ host: '127.0.0.1', port, ca: certificate.cert })
  t.teardown(() => silent.destroy())
  await once(silent, 'secureConnect')
  const received: Buffer[] = []
  silent.on('data', (chunk: Buffer) => received.push(chunk))
  silent.on('error', () => {})
  await once(silent, 'close')
  t.equal(Buffer.concat(received).length, 0, 'cut without an answer inside TLS')
})

t.test('upgradeTimeout is validated', async (t) => {
  for (const upgradeTimeout of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    const app = Fastify()
    await t.rejects(app.register(roomcast, { upgradeTimeout }).ready(), { message: 'roomcast: upgradeTimeout must be a positive number' })
    await app.close()
  }
})
