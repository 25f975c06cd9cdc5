import Fastify, { type FastifyInstance } from 'fastify'
import WebSocket from 'ws'
import roomcast, { type Connection, type RegisteredEvents, type RoomcastOptions } from '../../plugin/index.js'
import { SocketSink } from '../../plugin/ws/socket-sink.js'
import type { EventsDefinition } from '../../shared/index.js'

/** The server side ws socket of a WebSocket connection (tests look at its buffer and state). */
export function socketOf(connection: Connection): WebSocket {
  if (!(connection.sink instanceof SocketSink)) throw new Error('not a WebSocket connection')
  return connection.sink.ws
}

/** A real Fastify server with the plugin, listening on a random loopback port. */
export async function startServer<E extends EventsDefinition>(
  options: RoomcastOptions<E> = {},
  setup?: (app: FastifyInstance) => void | Promise<void>,
): Promise<{ app: FastifyInstance; url: string; port: number }> {
  const app = Fastify({ logger: false })
  // Tests register servers with events of their own, whatever the program's RoomcastTypes say.
  await app.register(roomcast, options as unknown as RoomcastOptions<RegisteredEvents>)
  if (setup !== undefined) await setup(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return { app, url: `ws://127.0.0.1:${address.port}${options.path ?? '/ws'}`, port: address.port }
}

export interface Frame {
  event: string
  data?: any
  id?: number
  room?: string
}

/**
 * A raw `ws` client that records every frame and close, with awaitable helpers, so tests
 * see exactly what is on the wire.
 */
export class RawClient {
  readonly ws: WebSocket
  readonly frames: Frame[] = []
  closed: { code: number; reason: string } | undefined
  #waiters: Array<{ match: (f: Frame) => boolean; resolve: (f: Frame) => void }> = []
  #closeWaiters: Array<(c: { code: number; reason: string }) => void> = []
  #nextId = 1

  constructor(url: string, options?: WebSocket.ClientOptions) {
    this.ws = new WebSocket(url, options)
    this.ws.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as Frame
      this.frames.push(frame)
      const index = this.#waiters.findIndex((w) => w.match(frame))
      if (index >= 0) this.#waiters.splice(index, 1)[0]!.resolve(frame)
    })
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() }
      for (const resolve of this.#closeWaiters.splice(0)) resolve(this.closed)
    })
    this.ws.on('error', () => {})
  }

  static async open(url: string, options?: WebSocket.ClientOptions): Promise<RawClient> {
    const client = new RawClient(url, options)
    await new Promise<void>((resolve, reject) => {
      client.ws.once('open', () => resolve())
      client.ws.once('unexpected-response', (req, res) => {
        // With this listener ws leaves the refused request open; close it so nothing lingers.
        req.destroy()
        reject(new Error(`HTTP ${res.statusCode}`))
      })
      client.ws.once('error', reject)
    })
    return client
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame))
  }

  /** Sends a request with a fresh id and resolves with the ack or error frame that answers it. */
  request(event: string, data?: unknown): Promise<Frame> {
    const id = this.#nextId++
    const reply = this.next((f) => f.id === id && (f.event === 'ack' || f.event === 'error' || f.event === 'connected'))
    this.send({ event, data, id })
    return reply
  }

  /** The next frame (already received or future) that matches; consumed frames are not reused. */
  next(match: ((f: Frame) => boolean) | string, timeoutMs = 5000): Promise<Frame> {
    const predicate = typeof match === 'string' ? (f: Frame) => f.event === match : match
    const seen = this.frames.findIndex((f) => predicate(f) && !(f as { taken?: boolean }).taken)
    if (seen >= 0) {
      const frame = this.frames[seen]!
      Object.defineProperty(frame, 'taken', { value: true, enumerable: false })
      return Promise.resolve(frame)
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no frame matched within ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`)), timeoutMs)
      this.#waiters.push({
        match: predicate,
        resolve: (frame) => {
          clearTimeout(timer)
          Object.defineProperty(frame, 'taken', { value: true, enumerable: false })
          resolve(frame)
        },
      })
    })
  }

  /** Resolves when the socket closes, with the close code and reason. */
  whenClosed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    if (this.closed !== undefined) return Promise.resolve(this.closed)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('socket did not close')), timeoutMs)
      this.#closeWaiters.push((c) => {
        clearTimeout(timer)
        resolve(c)
      })
    })
  }

  /** Frames of one event received so far. */
  all(event: string): Frame[] {
    return this.frames.filter((f) => f.event === event)
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate()
  }
}

/** Opens a raw client and authenticates it in-band when `auth` is given, else waits for `connected`. */
export async function connect(url: string, auth?: unknown): Promise<{ client: RawClient; connected: Frame }> {
  const client = await RawClient.open(url)
  const connected = auth === undefined ? await client.next('connected') : await client.request('authenticate', auth)
  return { client, connected }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** What a refused upgrade answered: HTTP status, parsed JSON body, and whether a socket ever opened. */
export interface UpgradeRefusal {
  statusCode: number
  body: unknown
}

/**
 * Attempts an upgrade that the server is expected to refuse before any socket exists, and
 * resolves with the HTTP status and JSON body. Rejects when the upgrade succeeds instead.
 */
export function expectRefusedUpgrade(url: string, options?: WebSocket.ClientOptions): Promise<UpgradeRefusal> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options)
    ws.on('error', () => {})
    ws.once('open', () => {
      ws.terminate()
      reject(new Error('the upgrade was accepted'))
    })
    ws.once('unexpected-response', (request, response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let body: unknown = text
        try {
          body = JSON.parse(text)
        } catch {}
        request.destroy()
        resolve({ statusCode: response.statusCode ?? 0, body })
      })
    })
  })
}

/** Polls a condition (server-side state settles a little after a socket event) until it holds. */
export async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} did not hold within ${timeoutMs} ms`)
    await delay(5)
  }
}

/** Opens `count` clients on the same URL, each authenticated in-band when `auth` gives credentials. */
export async function connectMany(url: string, count: number, auth?: (index: number) => unknown): Promise<Array<{ client: RawClient; connected: Frame }>> {
  return Promise.all(Array.from({ length: count }, (_, index) => connect(url, auth?.(index))))
}

/** Resolves like `promise`, or rejects with `message` if it takes longer than `ms`; leaves no timer behind. */
export async function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * A client of a server whose `echo` handler returns its data; `errors` collects the codes of
 * the errors the server reports through its `error` hook. Both end with the test.
 */
export async function echoClient(t: { teardown(fn: () => unknown): void }): Promise<{ client: RawClient; errors: string[] }> {
  const errors: string[] = []
  const { app, url } = await startServer({})
  app.roomcast.on('echo', (_connection, data) => data)
  app.roomcast.addHook('error', (error) => {
    errors.push((error as { code?: string }).code ?? error.message)
  })
  t.teardown(() => app.close())
  const { client } = await connect(url)
  t.teardown(() => client.close())
  return { client, errors }
}
