// An application that registers its events and promises a user on every connection
// (`RoomcastTypes`): everything below is typed without a generic, a cast or a `!`.
import { expectTypeOf } from 'expect-type'
import Fastify from 'fastify'
import roomcast, { type Connection, type RegisteredEvents, type RegisteredUserId, type RoomcastOptions } from '../../../plugin/index.js'
import { events } from '../events.js'

declare module '../../../plugin/index.js' {
  interface RoomcastTypes {
    events: typeof events
    userId: string
  }
}

expectTypeOf<RegisteredEvents>().toEqualTypeOf<typeof events>()
expectTypeOf<RegisteredUserId>().toEqualTypeOf<string>()

const app = Fastify()

await app.register(roomcast, {
  events,
  authenticate: (data) => {
    expectTypeOf(data).toEqualTypeOf<{ token: string }>()
    return data.token === '' ? null : { userId: data.token }
  },
  authorizeJoin: ({ connection, rooms }) => rooms.filter((room) => room.startsWith(connection.userId)),
  defaultRooms: (connection) => [`user:${connection.userId}`],
})

// Handlers see the user as a string.
app.roomcast.on('chat.send', async (connection, data) => {
  expectTypeOf(connection.userId).toEqualTypeOf<string>()
  await app.roomcast.rooms.to(data.room).except(connection.id).emit('chat.message', { from: connection.userId, text: data.text })
  return { delivered: true }
})
// @ts-expect-error undeclared events have no handlers
app.roomcast.on('chat.typing', () => undefined)
// @ts-expect-error deliveries carry the declared data
await app.roomcast.rooms.to('lobby').emit('chat.message', { from: 'ann' })

// Hooks also fire for Pusher connections, which have no user until they sign in.
app.roomcast.addHook('join', (connection, room) => {
  expectTypeOf(connection).toEqualTypeOf<Connection<typeof events>>()
  expectTypeOf(connection.userId).toEqualTypeOf<string | undefined>()
  expectTypeOf(room).toBeString()
})

// Options declared apart, then registered: no generic, no cast.
const options: RoomcastOptions = {
  events,
  authenticate: async (data) => ({ userId: data.token, metadata: { plan: 'pro' } }),
  presenceEvents: true,
}
await app.register(roomcast, options)

// Authenticating the upgrade request alone is enough, when it decides every request.
await app.register(roomcast, {
  events,
  authenticateRequest: (request) => {
    const user = request.headers['x-user']
    return typeof user === 'string' ? { userId: user } : { refuse: true, statusCode: 401 }
  },
})
// Deferring to in-band authentication needs `authenticate`.
await app.register(roomcast, {
  events,
  authenticateRequest: (request) => (request.headers.cookie === undefined ? undefined : { userId: 'from-cookie' }),
  authenticate: (data) => ({ userId: data.token }),
})

// Every way to leave a connection without a user is refused.
export const identityWithoutUser: RoomcastOptions = {
  events,
  // @ts-expect-error the identity must name its user
  authenticate: () => ({ metadata: {} }),
}
// @ts-expect-error with no authentication hook, connections would be anonymous
export const noAuthentication: RoomcastOptions = { events }
// @ts-expect-error authenticateRequest alone may not defer (undefined) to an authenticate that is not there
export const deferringToNothing: RoomcastOptions = { events, authenticateRequest: () => undefined }
// @ts-expect-error the same when registering inline
await app.register(roomcast, { events, path: '/rt' })
// @ts-expect-error options of the registered events only
export const otherEvents: RoomcastOptions = { events: { ...events, toServer: {} }, authenticate: () => ({ userId: 'u' }) }
