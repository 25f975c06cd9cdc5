import { Type, type Static } from '@sinclair/typebox'

/** Longest event name accepted on the wire (Pusher's limit too). */
export const MAX_EVENT_NAME_LENGTH = 200
/** Longest room name accepted on the wire. */
export const MAX_ROOM_NAME_LENGTH = 200

export const RequestId = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })

/**
 * Every native frame is one JSON object of this shape. `id` pairs a request with its reply
 * (`ack` or `error` carrying the same id); `room` is set by the server on room deliveries so
 * a client can tell which of its rooms a message came through.
 */
export const Envelope = Type.Object(
  {
    event: Type.String({ minLength: 1, maxLength: MAX_EVENT_NAME_LENGTH }),
    data: Type.Optional(Type.Unknown()),
    id: Type.Optional(RequestId),
    room: Type.Optional(Type.String({ maxLength: MAX_ROOM_NAME_LENGTH })),
  },
  { additionalProperties: false },
)
export type Envelope = Static<typeof Envelope>

/**
 * A native room name: 1 to 200 characters, none of them a control character (U+0000 to U+001F,
 * U+007F). Names that start with one are the server's namespace for other protocols' rooms
 * (Pusher channels), which native clients can never join.
 */
export const RoomName = Type.String({ minLength: 1, maxLength: MAX_ROOM_NAME_LENGTH, pattern: '^[^\\u0000-\\u001f\\u007f]*$' })

export { SystemEvent, isSystemEvent } from './system-events.js'

/** client → server: the credentials, whatever shape the server's `authenticate` hook expects. */
export const AuthenticatePayload = Type.Unknown()

/** server → client, once per connection, when it becomes authenticated. */
export const ConnectedPayload = Type.Object({
  connectionId: Type.String(),
  userId: Type.Optional(Type.String()),
  /** Rooms the server joined on its own (`defaultRooms`). */
  rooms: Type.Array(Type.String()),
  heartbeat: Type.Object({
    /** How often the server sends `heartbeat`, in ms. */
    interval: Type.Integer({ minimum: 1 }),
    /** How long the server waits for any sign of life before closing with 4002, in ms. */
    timeout: Type.Integer({ minimum: 1 }),
    /**
     * `event`: the server sends `heartbeat` events every `interval`, so a client that hears
     * nothing for longer knows the server is gone. `ping`: WebSocket pings, invisible to browser
     * code, so the client cannot judge liveness from silence. Absent means `event`.
     */
    mode: Type.Optional(Type.Union([Type.Literal('event'), Type.Literal('ping')])),
  }),
})
export type ConnectedPayload = Static<typeof ConnectedPayload>

/** client → server `join` / `leave`. */
export const RoomsRequest = Type.Object(
  { rooms: Type.Array(RoomName, { minItems: 1, maxItems: 100 }) },
  { additionalProperties: false },
)
export type RoomsRequest = Static<typeof RoomsRequest>

/** The ack of a `join`: which rooms the connection is now in, and which were refused. */
export const JoinReply = Type.Object({
  joined: Type.Array(Type.String()),
  refused: Type.Array(Type.String()),
})
export type JoinReply = Static<typeof JoinReply>

/** The ack of a `leave`. */
export const LeaveReply = Type.Object({ left: Type.Array(Type.String()) })
export type LeaveReply = Static<typeof LeaveReply>

/** Either direction: `heartbeat` carries nothing; the client answers the server's with its own. */
export const HeartbeatPayload = Type.Optional(Type.Null())

export const ErrorDetail = Type.Object({ path: Type.String(), message: Type.String() })
export type ErrorDetail = Static<typeof ErrorDetail>

/** server → client `error`. Carries the request's `id` in the envelope when it answers one. */
export const ErrorPayload = Type.Object({
  code: Type.String(),
  message: Type.String(),
  /** The event the error is about, when there is one. */
  event: Type.Optional(Type.String()),
  /** For `invalid_data`: the failing paths. */
  details: Type.Optional(Type.Array(ErrorDetail)),
})
export type ErrorPayload = Static<typeof ErrorPayload>

/** server → client, when a user's first connection enters a room or their last one leaves it. */
export const PresencePayload = Type.Object({
  room: Type.String(),
  userId: Type.String(),
  action: Type.Union([Type.Literal('join'), Type.Literal('leave')]),
})
export type PresencePayload = Static<typeof PresencePayload>

/**
 * server → client, when the server changed the connection's rooms on its own (the server API's
 * `rooms.join` / `rooms.leave`, on any node), so the client's room list stays true and a room it
 * was removed from is not rejoined after a reconnection.
 */
export const MembershipPayload = Type.Object({
  joined: Type.Array(Type.String()),
  left: Type.Array(Type.String()),
})
export type MembershipPayload = Static<typeof MembershipPayload>

/**
 * server → client, once the socket can take frames again after the server's `drop` backpressure
 * policy skipped messages for it: how many it missed since the last notice (heartbeats
 * included). An object, so that later fields (where the gap lies) do not break old clients.
 */
export const DroppedPayload = Type.Object({
  count: Type.Integer({ minimum: 1 }),
})
export type DroppedPayload = Static<typeof DroppedPayload>
