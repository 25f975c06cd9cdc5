// The client's half of the native wire protocol (shared/envelope.ts). The shared TypeBox schemas
// are not imported as values: TypeBox would then be in every browser bundle (test/client/bundle.test.ts
// forbids it). Instead each guard lists one check per property of the schema's static type, so a
// property added to or removed from a schema fails the type check here, and
// test/client/protocol.test.ts runs these guards and the schemas over the same frames.
import { ErrorCode } from '../shared/codes.js'
import type {
  ConnectedPayload,
  DroppedPayload,
  Envelope,
  ErrorDetail,
  ErrorPayload,
  HistoryPublication,
  HistoryReply,
  JoinReply,
  MembershipPayload,
  PresencePayload,
  StreamPosition,
  StreamState,
} from '../shared/envelope.js'
import { RoomcastError } from '../shared/errors.js'
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../shared/json-depth.js'
import { SystemEvent } from '../shared/system-events.js'
import type { ClientEventMap, ClientEventName } from './events.js'
import type { QueuedMessage } from './outbox.js'

type Check = (value: unknown) => boolean
/** One check for every property of `T`, no more and no fewer. */
type Shape<T> = { readonly [K in keyof T]-?: Check }

function objectOf<T>(shape: Shape<T>): (value: unknown) => value is T {
  const checks = Object.entries(shape) as Array<[string, Check]>
  return (value): value is T => {
    if (typeof value !== 'object' || value === null) return false
    const record = value as Record<string, unknown>
    return checks.every(([name, check]) => check(record[name]))
  }
}

const isString: Check = (value) => typeof value === 'string'
function optional(check: Check): Check {
  return (value) => value === undefined || check(value)
}

function listOf(check: Check): Check {
  return (value) => Array.isArray(value) && value.every(check)
}

function oneOf(...allowed: readonly unknown[]): Check {
  return (value) => allowed.includes(value)
}

/**
 * A property the client never reads, so it does not check it either: a server may send more
 * than the client needs without being refused. Extra properties pass for the same reason.
 */
const unread: Check = () => true

export const isEnvelope = objectOf<Envelope>({
  event: isString,
  data: unread,
  id: optional((id) => typeof id === 'number'),
  room: optional(isString),
  offset: optional((offset) => Number.isSafeInteger(offset) && (offset as number) >= 1),
  epoch: optional(isString),
})

export const isConnectedPayload = objectOf<ConnectedPayload>({
  connectionId: isString,
  userId: optional(isString),
  rooms: listOf(isString),
  heartbeat: objectOf<ConnectedPayload['heartbeat']>({
    interval: (interval) => typeof interval === 'number' && interval > 0,
    timeout: unread,
    // Anything but `ping` means heartbeat events, as an absent mode does.
    mode: unread,
  }),
})

export const isMembership = objectOf<MembershipPayload>({ joined: listOf(isString), left: listOf(isString) })

export const isPresence = objectOf<PresencePayload>({ room: isString, userId: isString, action: oneOf('join', 'leave') })

/** A stream position as the server reports it. */
export const isStreamPosition = objectOf<StreamPosition>({ epoch: isString, offset: (offset) => Number.isSafeInteger(offset) && (offset as number) >= 0 })

function recordOf(check: Check): Check {
  return (value) => typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every(check)
}

export const isDropped = objectOf<DroppedPayload>({
  count: (count) => typeof count === 'number' && Number.isInteger(count) && count > 0,
  rooms: optional(recordOf(isStreamPosition)),
})

const isCount: Check = (value) => Number.isSafeInteger(value) && (value as number) >= 0
const isBoolean: Check = (value) => typeof value === 'boolean'

/** A joined room's stream in a join's ack. */
export const isStreamState = objectOf<StreamState>({
  epoch: isString,
  offset: isCount,
  recovered: optional(isBoolean),
  reason: optional(oneOf('epoch_changed', 'too_far_behind', 'no_history')),
  replayed: optional(isCount),
})

export const isJoinReply = objectOf<JoinReply>({
  joined: listOf(isString),
  refused: listOf(isString),
  streams: optional(recordOf(isStreamState)),
})

export const isHistoryPublication = objectOf<HistoryPublication>({
  offset: (offset) => Number.isSafeInteger(offset) && (offset as number) >= 1,
  event: isString,
  data: unread,
})

export const isHistoryReply = objectOf<HistoryReply>({
  epoch: isString,
  offset: isCount,
  publications: listOf(isHistoryPublication),
  complete: isBoolean,
})

/**
 * Server events that the client passes on as its own events of the same name, once their data
 * has the right shape. A new one is a line here (and its entry in `ClientEventMap`).
 */
export const relayedEvents = {
  [SystemEvent.Presence]: isPresence,
  [SystemEvent.Dropped]: isDropped,
} as const satisfies { readonly [K in ClientEventName]?: (value: unknown) => value is ClientEventMap[K] }

export type RelayedEvent = keyof typeof relayedEvents

export function isRelayedEvent(event: string): event is RelayedEvent {
  return Object.hasOwn(relayedEvents, event)
}

/** The client's answer to the server's `heartbeat`, serialized once. */
export const HEARTBEAT_FRAME = JSON.stringify({ event: SystemEvent.Heartbeat } satisfies Envelope)

/** Parses one frame from the server: its envelope, or the error to report instead (the frame is ignored). */
export function decodeFrame(text: string): Envelope | RoomcastError {
  // Refused before parsing: schema checks and listeners walk values recursively, and would throw.
  if (exceedsJsonDepth(text)) return new RoomcastError(ErrorCode.TooDeep, `the server sent a frame nested deeper than ${MAX_JSON_DEPTH} levels`)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return new RoomcastError(ErrorCode.BadJson, 'the server sent a frame that is not JSON')
  }
  return isEnvelope(value) ? value : new RoomcastError(ErrorCode.BadEnvelope, 'the server sent a frame that is not an envelope')
}

/** The server's `error` event as a `RoomcastError`; a malformed one still reports something. */
export function errorOf(data: unknown): RoomcastError {
  const payload = (typeof data === 'object' && data !== null ? data : {}) as Partial<Record<keyof ErrorPayload, unknown>>
  const code = typeof payload.code === 'string' ? payload.code : ErrorCode.Internal
  const message = typeof payload.message === 'string' ? payload.message : 'the server reported an error'
  const details = Array.isArray(payload.details) ? (payload.details as ErrorDetail[]) : undefined
  return new RoomcastError(code, message, details)
}

/** Serializes a message once; its data may not be JSON (a BigInt, a cycle): that is refused here, before anything is sent. */
export function encodeMessage(event: string, data: unknown, id: number | undefined): QueuedMessage | RoomcastError {
  const envelope: Envelope = id === undefined ? { event, data } : { event, data, id }
  try {
    return { event, text: JSON.stringify(envelope), id }
  } catch (error) {
    return new RoomcastError(ErrorCode.InvalidData, `data of "${event}" cannot be sent as JSON: ${error instanceof Error ? error.message : String(error)}`)
  }
}
