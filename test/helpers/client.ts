import Fastify, { type FastifyInstance } from 'fastify'
import WebSocket from 'ws'
import { RoomcastClient, type ClientEventMap, type ClientState, type RoomcastClientOptions } from '../../client/index.js'
import roomcast, { RoomcastError, type RoomcastOptions, type RoomcastServer } from '../../plugin/index.js'
import { defineEvents, Type } from '../../shared/index.js'

/** The events the client tests talk with. */
export const events = defineEvents({
  toServer: {
    echo: Type.Object({ text: Type.String({ maxLength: 20 }) }),
    say: Type.Object({ room: Type.String(), text: Type.String() }),
    note: Type.Object({ n: Type.Integer() }),
    fail: Type.Object({ code: Type.String() }),
    stall: Type.Object({}),
    provoke: Type.Object({ event: Type.String(), data: Type.Unknown() }),
  },
  toClient: {
    echoed: Type.Object({ text: Type.String() }),
    said: Type.Object({ from: Type.String(), text: Type.String() }),
  },
  replies: {
    echo: Type.Object({ text: Type.String(), userId: Type.String() }),
  },
})
export type TestEvents = typeof events

export interface TestServer {
  app: FastifyInstance
  port: number
  url: string
  /** Every `note` received, in order. */
  notes: number[]
  close(): Promise<void>
}

/**
 * A real server with handlers for every test event. `port` 0 picks a free one; passing the
 * port of a closed server restarts "the same server".
 */
export async function startTestServer(options: RoomcastOptions<TestEvents> = {}, port = 0): Promise<TestServer> {
  const app = Fastify({ logger: false })
  await app.register(roomcast, {
    events,
    authenticate: async (data) => {
      const name = (data as { name?: unknown } | undefined)?.name
      return typeof name === 'string' ? { userId: name } : null
    },
    ...options,
  } as RoomcastOptions)
  const notes: number[] = []
  const rc = app.roomcast as unknown as RoomcastServer<TestEvents>
  rc.on('echo', (connection, data) => {
    connection.send('echoed', { text: data.text })
    return { text: data.text, userId: connection.userId ?? '' }
  })
  rc.on('say', (connection, data) => {
    rc.rooms.to(data.room).emit('said', { from: connection.userId ?? '', text: data.text })
  })
  rc.on('note', (_connection, data) => {
    notes.push(data.n)
  })
  rc.on('fail', (_connection, data) => {
    throw new RoomcastError(data.code, `failed on purpose: ${data.code}`)
  })
  rc.on('stall', () => new Promise<never>(() => {}))
  rc.on('provoke', (connection, data) => {
    // Sends whatever the test asks for, bypassing the server's types, to see the client's checks.
    ;(connection as unknown as { send(event: string, data: unknown): void }).send(data.event, data.data)
  })
  await app.listen({ port, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return { app, port: address.port, url: `ws://127.0.0.1:${address.port}/ws`, notes, close: () => app.close() }
}

/** A client of the test events over `ws`, with short delays so tests run fast. */
export function testClient(url: string, options: RoomcastClientOptions<TestEvents> = {}): RoomcastClient<TestEvents> {
  return new RoomcastClient<TestEvents>(url, {
    WebSocket,
    events,
    auth: { name: 'alice' },
    reconnect: { minDelay: 10, maxDelay: 40 },
    requestTimeout: 2000,
    connectTimeout: 2000,
    ...options,
  })
}

/** The next occurrence of one of the client's own events. */
export function nextEvent<K extends keyof ClientEventMap>(client: RoomcastClient<TestEvents>, event: K, timeoutMs = 5000): Promise<ClientEventMap[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${event}" event within ${timeoutMs} ms`)), timeoutMs)
    client.once(event, ((payload: ClientEventMap[K]) => {
      clearTimeout(timer)
      resolve(payload)
    }) as never)
  })
}

/** Resolves once the client is in `state` (at once if it already is). */
export function inState(client: RoomcastClient<TestEvents>, state: ClientState, timeoutMs = 5000): Promise<void> {
  if (client.state === state) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`client not ${state} within ${timeoutMs} ms (it is ${client.state})`)), timeoutMs)
    const listener = (change: ClientEventMap['state']): void => {
      if (change.state !== state) return
      clearTimeout(timer)
      client.off('state', listener)
      resolve()
    }
    client.on('state', listener)
  })
}

/** Awaits a promise expected to reject, returning the error. */
export async function rejection(promise: Promise<unknown>): Promise<RoomcastError> {
  try {
    await promise
  } catch (error) {
    return error as RoomcastError
  }
  throw new Error('expected a rejection')
}
