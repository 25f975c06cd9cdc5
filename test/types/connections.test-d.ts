// Handlers run for authenticated connections only; without a declared user id type, a user may be absent.
import { expectTypeOf } from 'expect-type'
import Fastify from 'fastify'
import type { AuthenticatedConnection, Connection, EventHandler, Identity, RoomcastServer } from '../../plugin/index.js'
import type { AnyEvents } from '../../shared/index.js'
import type { events } from './events.js'

// AuthenticatedConnection: a string userId by default, whatever the connection class says.
expectTypeOf<AuthenticatedConnection['userId']>().toEqualTypeOf<string>()
expectTypeOf<AuthenticatedConnection<typeof events, string | undefined>['userId']>().toEqualTypeOf<string | undefined>()
expectTypeOf<Connection['userId']>().toEqualTypeOf<string | undefined>()
expectTypeOf<AuthenticatedConnection<typeof events>>().toMatchTypeOf<Connection<typeof events>>()

// Identity: a userId may be left out only when the user id type admits undefined.
export const anonymous: Identity = { metadata: { guest: true } }
export const named: Identity<string> = { userId: 'ann' }
// @ts-expect-error an Identity<string> must name its user
export const unnamed: Identity<string> = { metadata: {} }

// An event handler given a user id type sees it on its connection.
export const handler: EventHandler<typeof events, 'chat.send', string> = (connection, data) => {
  expectTypeOf(connection.userId).toEqualTypeOf<string>()
  expectTypeOf(data).toEqualTypeOf<{ room: string; text: string }>()
  return { delivered: connection.userId.length > 0 }
}

// A RoomcastServer typed with a user id type, as `RoomcastTypes` would make `app.roomcast`.
declare const server: RoomcastServer<typeof events, string>
server.on('chat.send', (connection, data) => {
  expectTypeOf(connection.userId).toEqualTypeOf<string>()
  return { delivered: data.text.length > 0 }
})
// @ts-expect-error only declared toServer events have handlers
server.on('chat.sent', () => undefined)
// @ts-expect-error the reply is the declared reply type
server.on('chat.send', () => ({ delivered: 'yes' }))

// Without one (the default), the user may be absent, and the compiler says so.
const app = Fastify()
app.roomcast.on('chat.send', (connection) => {
  expectTypeOf(connection).toEqualTypeOf<AuthenticatedConnection<AnyEvents, string | undefined>>()
  // @ts-expect-error anonymous connections have no userId
  const user: string = connection.userId
  return user
})

// Hooks fire for every protocol's connections (Pusher's included, which have no user until
// they sign in), so they see a plain Connection, whatever is declared.
server.addHook('authenticated', (connection) => {
  expectTypeOf(connection).toEqualTypeOf<Connection<typeof events>>()
  expectTypeOf(connection.userId).toEqualTypeOf<string | undefined>()
})
server.addHook('join', (connection, room) => {
  expectTypeOf(connection.userId).toEqualTypeOf<string | undefined>()
  expectTypeOf(room).toBeString()
})
