import { KeyExchange, type SecureChannel } from '../../shared/e2e/index.js'
import WebSocket, { WebSocketServer } from 'ws'
import { RawClient, type Frame } from './server.js'

/**
 * A raw client that performs the encryption handshake itself, so tests see both the bytes on
 * the wire (`raw.frames`) and what they decrypt to (`plain`).
 */
export class EncryptedRawClient {
  readonly raw: RawClient
  channel: SecureChannel | undefined
  readonly plain: Frame[] = []
  /** Sealed data of every encrypted frame received, in order, for replay tests. */
  readonly sealedIn: string[] = []
  #waiters: Array<{ match: (f: Frame) => boolean; resolve: (f: Frame) => void }> = []
  #nextId = 1
  #channelReady!: (channel: SecureChannel) => void
  readonly #ready: Promise<SecureChannel>

  constructor(raw: RawClient) {
    this.raw = raw
    this.#ready = new Promise((resolve) => {
      this.#channelReady = resolve
    })
    raw.ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame
      if (frame.event !== 'encrypted') return
      this.sealedIn.push(frame.data as string)
      // Encrypted frames may arrive while the client is still deriving its keys.
      void this.#ready.then((channel) => this.#open(channel, frame.data as string))
    })
  }

  #open(channel: SecureChannel, sealed: string): void {
    channel.receive(sealed).then((text) => {
      const inner = JSON.parse(text) as Frame
      this.plain.push(inner)
      const index = this.#waiters.findIndex((w) => w.match(inner))
      if (index >= 0) this.#waiters.splice(index, 1)[0]!.resolve(inner)
    })
  }

  static async open(url: string): Promise<EncryptedRawClient> {
    return new EncryptedRawClient(await RawClient.open(url))
  }

  async handshake(connectionIdHint?: string): Promise<Frame> {
    const exchange = await KeyExchange.create('client')
    const reply = this.raw.next('key-exchange')
    this.raw.send({ event: 'key-exchange', data: { version: 1, publicKey: exchange.publicKey, nonce: exchange.nonce }, id: 0 })
    const frame = await reply
    this.channel = await exchange.complete(frame.data, connectionIdHint ?? frame.data.connectionId)
    this.#channelReady(this.channel)
    return frame
  }

  /** Encrypts an envelope and sends it; resolves with the sealed data that was sent. */
  send(envelope: unknown): Promise<string> {
    return new Promise((resolve, reject) => {
      this.channel!.send(JSON.stringify(envelope), (sealed) => {
        this.raw.send({ event: 'encrypted', data: sealed })
        resolve(sealed)
      }).catch(reject)
    })
  }

  /** Encrypts an envelope without sending it (for replay and tamper tests). */
  seal(envelope: unknown): Promise<string> {
    return new Promise((resolve, reject) => {
      this.channel!.send(JSON.stringify(envelope), resolve).catch(reject)
    })
  }

  async request(event: string, data?: unknown): Promise<Frame> {
    const id = this.#nextId++
    const reply = this.next((f) => f.id === id)
    await this.send({ event, data, id })
    return reply
  }

  next(match: ((f: Frame) => boolean) | string, timeoutMs = 5000): Promise<Frame> {
    const predicate = typeof match === 'string' ? (f: Frame) => f.event === match : match
    const seen = this.plain.find(predicate)
    if (seen !== undefined) {
      this.plain.splice(this.plain.indexOf(seen), 1)
      return Promise.resolve(seen)
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no decrypted frame matched; got ${JSON.stringify(this.plain)}`)), timeoutMs)
      this.#waiters.push({
        match: predicate,
        resolve: (frame) => {
          clearTimeout(timer)
          this.plain.splice(this.plain.indexOf(frame), 1)
          resolve(frame)
        },
      })
    })
  }

  close(): void {
    this.raw.close()
  }
}

/**
 * A WebSocket server on a random loopback port that stands between a client and `upstream`:
 * for each client socket it opens one to the server (same query) and hands both to `bridge`.
 * Ended, with every socket, when the test ends. Resolves with the URL clients connect to.
 */
export async function relayServer(
  teardown: (fn: () => Promise<void>) => void,
  upstream: string,
  bridge: (client: WebSocket, server: WebSocket) => void,
): Promise<string> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  await new Promise((resolve) => wss.once('listening', resolve))
  wss.on('connection', (client, request) => {
    const server = new WebSocket(upstream + (request.url?.slice(request.url.indexOf('?')) ?? ''))
    client.on('error', () => {})
    server.on('error', () => {})
    bridge(client, server)
  })
  teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of wss.clients) socket.terminate()
        wss.close(() => resolve())
      }),
  )
  const { port } = wss.address() as { port: number }
  return `ws://127.0.0.1:${port}/ws`
}
