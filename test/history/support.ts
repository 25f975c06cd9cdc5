import type { FastifyInstance } from 'fastify'
import type { RoomcastOptions } from '../../plugin/index.js'
import { connect, type Frame, type RawClient, startServer } from '../helpers/server.js'

/** A server whose `chat:*` rooms keep history (unless `options.history` says otherwise). */
export async function historyServer(options: RoomcastOptions = {}): Promise<{ app: FastifyInstance; url: string }> {
  return startServer({ history: [{ match: 'chat:*', size: 100, ttl: 60_000 }], ...options })
}

/** A connected raw client that joined `join` (the request's data) and got its ack. */
export async function joined(url: string, join: Record<string, unknown>): Promise<{ client: RawClient; ack: Frame }> {
  const { client } = await connect(url)
  const ack = await client.request('join', join)
  return { client, ack }
}

/** Frames of an app event (not system events) received so far, in order. */
export function deliveries(client: RawClient, event = 'msg'): Frame[] {
  return client.frames.filter((frame) => frame.event === event)
}

/** Publishes `count` messages `{ n }` to a room, one after the other, and returns their positions. */
export async function publish(app: FastifyInstance, room: string, from: number, count: number): Promise<Array<{ epoch: string; offset: number } | undefined>> {
  const positions = []
  for (let n = from; n < from + count; n++) positions.push(await app.roomcast.rooms.to(room).emit('msg', { n }))
  return positions
}
