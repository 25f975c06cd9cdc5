import { defineEvents, Type } from '../../shared/index.js'

/** The chat's events, shared by its server and its browser page. */
export const events = defineEvents({
  // What the page sends to sign in: a name, checked by the server before `authenticate` runs.
  auth: Type.Object({ name: Type.String({ maxLength: 200 }) }),
  toServer: {
    'chat.send': Type.Object({ room: Type.String({ minLength: 1, maxLength: 200 }), text: Type.String({ minLength: 1, maxLength: 2000 }) }),
    'chat.who': Type.Object({ room: Type.String({ minLength: 1, maxLength: 200 }) }),
  },
  toClient: {
    'chat.message': Type.Object({ room: Type.String(), from: Type.String(), text: Type.String(), at: Type.Number() }),
    'chat.notice': Type.Object({ room: Type.String(), text: Type.String() }),
  },
  replies: {
    'chat.send': Type.Object({ delivered: Type.Boolean() }),
    'chat.who': Type.Object({ users: Type.Array(Type.String()) }),
  },
})

export type ChatEvents = typeof events
