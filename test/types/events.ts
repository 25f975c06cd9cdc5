// The events the type tests share: a chat whose clients authenticate with a token.
import { defineEvents, Type } from '../../shared/index.js'

export const events = defineEvents({
  auth: Type.Object({ token: Type.String() }),
  toServer: { 'chat.send': Type.Object({ room: Type.String(), text: Type.String() }) },
  toClient: { 'chat.message': Type.Object({ from: Type.String(), text: Type.String() }) },
  replies: { 'chat.send': Type.Object({ delivered: Type.Boolean() }) },
})

/** The same events without an `auth` schema. */
export const openEvents = defineEvents({
  toServer: { 'chat.send': Type.Object({ room: Type.String(), text: Type.String() }) },
  toClient: { 'chat.message': Type.Object({ from: Type.String(), text: Type.String() }) },
})
