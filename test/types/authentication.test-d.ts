// `authenticate(data)` is typed by the events' `auth` schema, on the server and in the client.
import { expectTypeOf } from 'expect-type'
import type { FastifyRequest } from 'fastify'
import type { Authenticator, RoomcastOptions } from '../../plugin/index.js'
import { RoomcastClient } from '../../client/index.js'
import type { AuthData } from '../../shared/index.js'
import { events, openEvents } from './events.js'

expectTypeOf<AuthData<typeof events>>().toEqualTypeOf<{ token: string }>()
expectTypeOf<AuthData<typeof openEvents>>().toBeUnknown()
expectTypeOf<Parameters<Authenticator<typeof events>>>().toEqualTypeOf<[data: { token: string }, request: FastifyRequest]>()

// Server: the hook's data is the declared type, not `unknown`.
export const declared: RoomcastOptions<typeof events> = {
  events,
  authenticate: (data) => {
    expectTypeOf(data).toEqualTypeOf<{ token: string }>()
    return data.token === '' ? null : { userId: data.token }
  },
}

export const wrongShape: RoomcastOptions<typeof events> = {
  events,
  authenticate: (data) => {
    // @ts-expect-error the declared credentials have no `password`
    return { userId: data.password }
  },
}

// Without an `auth` schema the data is `unknown`: it must be checked before use.
export const undeclared: RoomcastOptions<typeof openEvents> = {
  events: openEvents,
  authenticate: (data) => {
    expectTypeOf(data).toBeUnknown()
    // @ts-expect-error unknown data has no properties until it is checked
    return { userId: data.token }
  },
}

// The hook may be asynchronous and may refuse with null.
export const asynchronous: RoomcastOptions<typeof events> = {
  events,
  authenticate: async (data, request) => {
    expectTypeOf(request).toEqualTypeOf<FastifyRequest>()
    return data.token.length > 0 ? { userId: data.token, metadata: { via: 'token' } } : null
  },
}

export const notAnIdentity: RoomcastOptions<typeof events> = {
  events,
  // @ts-expect-error an identity's userId is a string
  authenticate: (data) => ({ userId: data.token.length }),
}

// Client: `auth` is the declared credentials, or a (possibly async) function returning them.
export const withData = new RoomcastClient<typeof events>('ws://localhost/ws', { events, auth: { token: 't' } })
export const withFunction = new RoomcastClient<typeof events>('ws://localhost/ws', {
  events,
  auth: async ({ attempt }) => {
    expectTypeOf(attempt).toBeNumber()
    return { token: `t${attempt}` }
  },
})
// @ts-expect-error the token is a string
export const wrongData = new RoomcastClient<typeof events>('ws://localhost/ws', { events, auth: { token: 1 } })
// @ts-expect-error the function must return the declared credentials
export const wrongFunction = new RoomcastClient<typeof events>('ws://localhost/ws', { events, auth: () => ({ user: 'ann' }) })

// Events without an `auth` schema take any object or string, as before.
export const openClient = new RoomcastClient<typeof openEvents>('ws://localhost/ws', { events: openEvents, auth: { name: 'ann' } })
export const stringClient = new RoomcastClient('ws://localhost/ws', { auth: 'token' })
