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
    /** On deliveries to a room with history: the publication's place in the room's stream. */
    offset: Type.Optional(Type.Integer({ minimum: 1 })),
    epoch: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
)
export type Envelope = Static<typeof Envelope>

/**
 * A place in a room's stream: `offset` counts the room's publications (1, 2, …) and `epoch`
 * names the stream's lifetime; a new epoch means the history before it is gone.
 */
export const StreamPosition = Type.Object(
  { epoch: Type.String({ minLength: 1, maxLength: 64 }), offset: Type.Integer({ minimum: 0 }) },
  { additionalProperties: false },
)
export type StreamPosition = Static<typeof StreamPosition>

/** Most publications one request may replay or read (`rewind`, history `limit`). */
export const MAX_HISTORY_READ = 1000

/** Why a recovery could not be made whole; the client should reload what it shows. */
export const RecoveryFailure = Type.Union([
  /** The stream was lost (Redis restarted without persistence, the stream expired) and began anew. */
  Type.Literal('epoch_changed'),
  /** More was published since the client's position than the history keeps. */
  Type.Literal('too_far_behind'),
  /** The room keeps no history. */
  Type.Literal('no_history'),
])
export type RecoveryFailure = Static<typeof RecoveryFailure>

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

/** client → server `leave`. */
export const RoomsRequest = Type.Object({ rooms: Type.Array(RoomName, { minItems: 1, maxItems: 100 }) }, { additionalProperties: false })
export type RoomsRequest = Static<typeof RoomsRequest>

/**
 * client → server `join`. `recover`: for rooms with history, the last position the client
 * saw; the server replays what came after it before acknowledging. `rewind`: replay the last
 * N publications of each joined room with history (a late joiner's backlog).
 */
export const JoinRequest = Type.Object(
  {
    rooms: Type.Array(RoomName, { minItems: 1, maxItems: 100 }),
    recover: Type.Optional(Type.Record(Type.String(), StreamPosition)),
    rewind: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_HISTORY_READ })),
  },
  { additionalProperties: false },
)
export type JoinRequest = Static<typeof JoinRequest>

/**
 * A joined room's stream, in the join's ack (rooms with history only): its position once the
 * replay (if any) was sent, and for a recovery whether it was whole. The client continues from
 * `epoch`/`offset`.
 */
export const StreamState = Type.Object({
  epoch: Type.String(),
  offset: Type.Integer({ minimum: 0 }),
  /** Present when the join asked to recover this room. */
  recovered: Type.Optional(Type.Boolean()),
  /** When `recovered` is false. */
  reason: Type.Optional(RecoveryFailure),
  /** Publications replayed before the ack (recovery or `rewind`). */
  replayed: Type.Optional(Type.Integer({ minimum: 0 })),
})
export type StreamState = Static<typeof StreamState>

/** The ack of a `join`: which rooms the connection is now in, which were refused, and the streams of those with history. */
export const JoinReply = Type.Object({
  joined: Type.Array(Type.String()),
  refused: Type.Array(Type.String()),
  streams: Type.Optional(Type.Record(Type.String(), StreamState)),
})
export type JoinReply = Static<typeof JoinReply>

/**
 * client → server `history`: a room's stored publications, authorized like a join. `since`:
 * only those after this position (refused with `recovered: false` semantics when the epoch
 * differs); `reverse`: newest first; `limit`: at most this many (default 100).
 */
export const HistoryRequest = Type.Object(
  {
    room: RoomName,
    since: Type.Optional(StreamPosition),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_HISTORY_READ })),
    reverse: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
)
export type HistoryRequest = Static<typeof HistoryRequest>

/** One stored publication: its offset, event and data. */
export const HistoryPublication = Type.Object({
  offset: Type.Integer({ minimum: 1 }),
  event: Type.String(),
  data: Type.Optional(Type.Unknown()),
})
export type HistoryPublication = Static<typeof HistoryPublication>

/**
 * The ack of `history`: the stream's current position and the publications asked for, oldest
 * first unless `reverse`. `complete: false` when `since` lies before what the history still
 * keeps (or in another epoch): publications were lost in between.
 */
export const HistoryReply = Type.Object({
  epoch: Type.String(),
  offset: Type.Integer({ minimum: 0 }),
  publications: Type.Array(HistoryPublication),
  complete: Type.Boolean(),
})
export type HistoryReply = Static<typeof HistoryReply>

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
  /**
   * For rooms with history: the position of the first publication dropped in each, so the
   * client can recover the gap from history (everything after `offset - 1`).
   */
  rooms: Type.Optional(Type.Record(Type.String(), StreamPosition)),
})
export type DroppedPayload = Static<typeof DroppedPayload>
