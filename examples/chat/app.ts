import { existsSync } from 'node:fs'
import { join } from 'node:path'
import fastifyStatic from '@fastify/static'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import roomcast, { RoomcastError } from '../../plugin/index.js'
import { events } from './events.js'
import { browserBundleDir, publicDir } from './paths.js'

declare module '../../plugin/index.js' {
  interface RoomcastTypes {
    events: typeof events
    // Every connection signs in with a name: handlers see `connection.userId` as a string.
    userId: string
  }
}

const NAME = /^[\p{L}\p{N}_ .-]{1,32}$/u
/**
 * The rooms this chat lets people join: lowercase letters, digits and dashes, up to 32. The
 * page's room field checks the same rule (its `pattern` attribute, index.html) before asking.
 */
export const ROOM_NAME = /^[a-z0-9-]{1,32}$/

export interface ChatOptions {
  /**
   * The page encrypts its connection to this server (`clientEncryption()`) unless opened with
   * `?encryption=off`; `optional` lets both kinds in.
   */
  encryption?: 'off' | 'optional' | 'required'
}

/** The example chat: anyone picks a name, joins rooms, talks, and sees who is there. */
export async function buildChatApp(options: FastifyServerOptions = {}, chat: ChatOptions = {}): Promise<FastifyInstance> {
  const app = Fastify(options)
  await app.register(roomcast, {
    events,
    encryption: chat.encryption ?? 'optional',
    presenceEvents: true,
    // `data` is `{ name: string }`: the events' auth schema typed it, and the server checked it.
    authenticate: async ({ name }) => {
      if (!NAME.test(name.trim())) return null
      return { userId: name.trim(), metadata: { name: name.trim() } }
    },
    authorizeJoin: ({ rooms }) => rooms.filter((room) => ROOM_NAME.test(room)),
    defaultRooms: () => ['lobby'],
    // Every room keeps its last 200 messages for an hour: a late joiner sees what was said, and a
    // page that lost its connection for a moment gets what it missed when it is back.
    history: [{ match: '*', size: 200, ttl: 3_600_000 }],
  })

  app.roomcast.on('chat.send', async (connection, data) => {
    if (!connection.rooms.has(data.room)) throw new RoomcastError('not_in_room', `join ${data.room} first`)
    // Awaited: a message that could not be stored (Redis down) is reported to its sender as not sent.
    await app.roomcast.rooms.to(data.room).emit('chat.message', { room: data.room, from: connection.userId, text: data.text, at: Date.now() })
    return { delivered: true }
  })

  app.roomcast.on('chat.who', async (connection, data) => {
    if (!connection.rooms.has(data.room)) throw new RoomcastError('not_in_room', `join ${data.room} first`)
    return { users: (await app.roomcast.rooms.users(data.room)).sort() }
  })

  app.roomcast.addHook('join', (connection, room) => {
    app.roomcast.rooms
      .to(room)
      .except(connection.id)
      .emit('chat.notice', { room, text: `${connection.userId} joined` })
  })

  // The page, and the client's browser bundle it imports from /roomcast/.
  await app.register(fastifyStatic, { root: publicDir, prefix: '/' })
  if (!existsSync(join(browserBundleDir, 'roomcast-client.js'))) {
    app.log.warn('roomcast chat: the browser bundle is missing; run `npm run build` first')
  }
  await app.register(fastifyStatic, { root: browserBundleDir, prefix: '/roomcast/', decorateReply: false })

  return app
}
