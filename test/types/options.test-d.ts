// `RoomcastOptions` needs no generic, and `app.register(roomcast, ...)` takes it as it is.
// Nothing is registered in `RoomcastTypes` in this program (see registered/ for an app that does).
import { expectTypeOf } from 'expect-type'
import Fastify from 'fastify'
import roomcast, { type AuthenticatedConnection, type RegisteredEvents, type RegisteredUserId, type RoomcastOptions } from '../../plugin/index.js'
import type { AnyEvents } from '../../shared/index.js'
import { events } from './events.js'

expectTypeOf<RegisteredEvents>().toEqualTypeOf<AnyEvents>()
expectTypeOf<RegisteredUserId>().toEqualTypeOf<string | undefined>()

const app = Fastify()

// Declared first, registered later: no generic, no cast.
const options: RoomcastOptions = {
  path: '/rt',
  authenticate: (data) => {
    expectTypeOf(data).toBeUnknown()
    return typeof data === 'string' ? { userId: data } : null
  },
  authorizeJoin: ({ connection, rooms }) => {
    expectTypeOf(connection).toEqualTypeOf<AuthenticatedConnection<AnyEvents, string | undefined>>()
    return rooms
  },
  heartbeat: { interval: 10_000 },
}
await app.register(roomcast, options)

// Inline, with a typed events map: the map is accepted where any events are.
await app.register(roomcast, { events, defaultRooms: (connection) => [`user:${connection.userId ?? 'anonymous'}`] })

// Anonymous connections are allowed while no user id type is declared: no hook at all, or an identity without a user.
await app.register(roomcast, {})
await app.register(roomcast, { authenticate: () => ({ metadata: { guest: true } }) })
await app.register(roomcast, { authenticateRequest: (request) => (request.headers.authorization === undefined ? undefined : { userId: 'u' }) })

// Fastify's own registration options pass through.
await app.register(roomcast, { prefix: '/x', logLevel: 'warn' })

// @ts-expect-error a misspelt option is refused
await app.register(roomcast, { presenseEvents: true })

// @ts-expect-error options of the wrong type are refused
await app.register(roomcast, { heartbeat: { interval: '10s' } })

export const misspelt: RoomcastOptions = {
  // @ts-expect-error a misspelt option is refused on a declared object too
  authTimout: 1000,
}
