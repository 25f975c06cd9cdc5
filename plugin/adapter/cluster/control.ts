import { Type, type Static } from '@sinclair/typebox'
import { validatorFor } from '../../../shared/validator.js'
import type { Query } from '../../hub/queries.js'

/**
 * Messages between nodes on the control channel (`P:ctl`, every node) and on a node's own
 * answer channel (`P:node:<busId>`). Plain JSON: they are rare next to deliveries, and each is
 * checked against its schema on arrival so a stray publish cannot crash or confuse a node.
 */
const TargetSchema = Type.Union([
  Type.Object({ kind: Type.Literal('rooms'), rooms: Type.Array(Type.String()) }),
  Type.Object({ kind: Type.Literal('users'), users: Type.Array(Type.String()) }),
  Type.Object({ kind: Type.Literal('connections'), ids: Type.Array(Type.String()) }),
  Type.Object({ kind: Type.Literal('all') }),
])

const QuerySchema = Type.Union([
  Type.Object({ type: Type.Literal('roomMembers'), room: Type.String() }),
  Type.Object({ type: Type.Literal('roomSize'), room: Type.String() }),
  Type.Object({ type: Type.Literal('userConnections'), userId: Type.String() }),
  Type.Object({ type: Type.Literal('rooms') }),
  Type.Object({ type: Type.Literal('roomSizes'), prefix: Type.String() }),
  Type.Object({ type: Type.Literal('connectionCount') }),
  Type.Object({ type: Type.Literal('nodes') }),
  Type.Object({ type: Type.Literal('join'), target: TargetSchema, rooms: Type.Array(Type.String()), protocol: Type.Optional(Type.String()) }),
  Type.Object({ type: Type.Literal('leave'), target: TargetSchema, rooms: Type.Array(Type.String()), protocol: Type.Optional(Type.String()) }),
  Type.Object({ type: Type.Literal('disconnect'), target: TargetSchema, code: Type.Integer(), reason: Type.String() }),
])

/** A node asks every node; answers go to `P:node:<from>`. */
const QueryMessage = Type.Object({ t: Type.Literal('query'), id: Type.String(), from: Type.String(), node: Type.String(), q: QuerySchema })
/** One node's part of the answer; `error` instead of `value` when answering failed there. */
const AnswerMessage = Type.Object({
  t: Type.Literal('answer'),
  id: Type.String(),
  node: Type.String(),
  value: Type.Optional(Type.Unknown()),
  error: Type.Optional(Type.String()),
})
/** A node started (others count on it at once, without waiting for the registry) or is leaving. */
const HelloMessage = Type.Object({ t: Type.Literal('hello'), node: Type.String(), from: Type.String() })
const ByeMessage = Type.Object({ t: Type.Literal('bye'), node: Type.String(), from: Type.String() })

const ControlMessageSchema = Type.Union([QueryMessage, AnswerMessage, HelloMessage, ByeMessage])

export type QueryMessage = Static<typeof QueryMessage> & { q: Query }
export type AnswerMessage = Static<typeof AnswerMessage>
export type ControlMessage = QueryMessage | AnswerMessage | Static<typeof HelloMessage> | Static<typeof ByeMessage>

const validator = validatorFor(ControlMessageSchema)

export function encodeControl(message: ControlMessage): string {
  return JSON.stringify(message)
}

/** The message, or undefined when the text is not a valid control message. */
export function decodeControl(text: string): ControlMessage | undefined {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  return validator.check(value) ? (value as ControlMessage) : undefined
}
