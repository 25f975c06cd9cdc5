/**
 * The HTTP API's request shapes, as the `pusher` SDK sends them. Limits that depend on the
 * app (name length, channel count, payload size, batch size) are checked in code after these.
 * Unknown fields are allowed: SDKs add parameters of their own, and Pusher ignores them too.
 * Query strings always carry the auth parameters, checked by the request signature.
 */
import { Type, type Static } from '@sinclair/typebox'

const NonEmpty = Type.String({ minLength: 1 })

/** One event: `channels` (or a single `channel`), `name`, `data` (a string, as the SDKs send it), optional `socket_id` and `info`. */
export const EventBody = Type.Object({
  name: NonEmpty,
  data: Type.Unknown(),
  channels: Type.Optional(Type.Array(Type.String())),
  channel: Type.Optional(Type.String()),
  socket_id: Type.Optional(Type.String()),
  info: Type.Optional(Type.String()),
})
export type EventBody = Static<typeof EventBody>

export const BatchBody = Type.Object({
  batch: Type.Array(EventBody),
})
export type BatchBody = Static<typeof BatchBody>

/** A query string with nothing of its own to check (the auth parameters are the signature's). */
export const AnyQuery = Type.Object({})
export type AnyQuery = Static<typeof AnyQuery>

export const ChannelsQuery = Type.Object({
  /** Only channels whose name starts with this. */
  filter_by_prefix: Type.Optional(Type.String()),
  /** Comma-separated attributes: `user_count` (needs `filter_by_prefix=presence-`), `subscription_count`. */
  info: Type.Optional(Type.String()),
})
export type ChannelsQuery = Static<typeof ChannelsQuery>

export const ChannelQuery = Type.Object({
  /** Comma-separated attributes: `user_count` (presence channels), `subscription_count`. */
  info: Type.Optional(Type.String()),
})
export type ChannelQuery = Static<typeof ChannelQuery>

export const UsersQuery = Type.Object({
  /** `1` or `true` adds each member's `user_info` (a soketi extension). */
  with_user_info: Type.Optional(Type.String()),
})
export type UsersQuery = Static<typeof UsersQuery>
