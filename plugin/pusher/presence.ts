/**
 * Presence channels: members parsed from `channel_data`, member lists built from cluster
 * answers, and `member_added` / `member_removed` raised once per user, not once per socket
 * or node.
 */
import type { Adapter } from '../hub/adapter.js'
import type { Connection } from '../hub/connection.js'
import type { Delivery } from '../hub/delivery.js'
import type { RoomMember } from '../hub/queries.js'
import type { SubscriptionErrorData } from './channels.js'
import { PUSHER_PROTOCOL } from './codec.js'
import type { PresenceUserId } from './events.js'
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../shared/json-depth.js'

/** What a Pusher connection attaches to its hub membership of a presence room (`Connection.memberInfo`). */
export interface PresenceMember {
  user_id: PresenceUserId
  user_info?: unknown
}

/** Pusher's limit on user id length. */
const MAX_USER_ID_LENGTH = 128

/** Members are told apart by their id's JSON, so the adapter's key gives back its JSON type. */
export function memberKey(userId: PresenceUserId): string {
  return JSON.stringify(userId)
}

/** Parses and checks `channel_data`; a string error is a bad request, an object a limit. */
export function parseMember(channelData: string, maxInfoBytes: number): PresenceMember | SubscriptionErrorData {
  // A deep user_info would throw from the size check below and from every member list it joins.
  if (exceedsJsonDepth(channelData)) {
    return { type: 'LimitReached', error: `channel_data is nested deeper than ${MAX_JSON_DEPTH} levels.`, status: 4301 }
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(channelData)
  } catch {
    return { type: 'ServerError', error: 'channel_data is not valid JSON.', status: 4302 }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { type: 'ServerError', error: 'channel_data must be a JSON object.', status: 4302 }
  }
  const { user_id: userId, user_info: userInfo } = parsed as { user_id?: unknown; user_info?: unknown }
  const validId = (typeof userId === 'string' && userId !== '') || (typeof userId === 'number' && Number.isFinite(userId))
  if (!validId) return { type: 'ServerError', error: 'channel_data must contain a user_id (a string or a number).', status: 4302 }
  if (String(userId).length > MAX_USER_ID_LENGTH) {
    return { type: 'LimitReached', error: `The user_id is longer than ${MAX_USER_ID_LENGTH} characters.`, status: 4301 }
  }
  const member: PresenceMember = { user_id: userId }
  if (userInfo !== undefined) {
    if (Buffer.byteLength(JSON.stringify(userInfo)) > maxInfoBytes) {
      return { type: 'LimitReached', error: `The user_info is larger than ${maxInfoBytes / 1024} KiB.`, status: 4301 }
    }
    member.user_info = userInfo
  }
  return member
}

export function isMember(value: unknown): value is PresenceMember {
  if (value === null || typeof value !== 'object') return false
  const id = (value as { user_id?: unknown }).user_id
  return typeof id === 'string' || typeof id === 'number'
}

/** Distinct members of a room from a cluster `roomMembers` answer; among several sockets of a user, the last one's info wins. */
export function distinctMembers(members: readonly RoomMember[]): Map<string, PresenceMember> {
  const distinct = new Map<string, PresenceMember>()
  for (const member of members) if (isMember(member.info)) distinct.set(memberKey(member.info.user_id), member.info)
  return distinct
}

/** The `pusher_internal:subscription_succeeded` data of a presence channel. */
export function presenceData(members: ReadonlyMap<string, PresenceMember>): string {
  const ids: PresenceUserId[] = []
  // No prototype: "__proto__" is a valid user id, and on a plain object it would set the prototype instead of a member.
  const hash: Record<string, unknown> = Object.create(null)
  for (const member of members.values()) {
    ids.push(member.user_id)
    hash[String(member.user_id)] = member.user_info ?? null
  }
  return JSON.stringify({ presence: { ids, hash, count: ids.length } })
}

/**
 * Turns socket-level joins and leaves of presence rooms into user-level transitions. Locally it
 * counts each user's sockets per room; the adapter's `trackPresence` (under a key of its own, so
 * it never mixes with the hub's user presence) says whether a local transition is also the
 * cluster's. The in-process adapter always says yes; the Redis adapter keeps the per-node sets.
 */
export class PresenceTracker {
  readonly #adapter: Adapter
  readonly #publish: (delivery: Delivery) => void
  readonly #onChange: (room: string, member: PresenceMember, action: 'join' | 'leave') => void
  readonly #onError: (err: unknown, room: string) => void
  /** room → member key → local sockets of that user in the room. */
  readonly #local = new Map<string, Map<string, number>>()

  constructor(init: {
    adapter: Adapter
    publish: (delivery: Delivery) => void
    onChange: (room: string, member: PresenceMember, action: 'join' | 'leave') => void
    onError: (err: unknown, room: string) => void
  }) {
    this.#adapter = init.adapter
    this.#publish = init.publish
    this.#onChange = init.onChange
    this.#onError = init.onError
  }

  joined(connection: Connection, room: string, member: PresenceMember): void {
    const key = memberKey(member.user_id)
    let users = this.#local.get(room)
    if (users === undefined) this.#local.set(room, (users = new Map()))
    const sockets = (users.get(key) ?? 0) + 1
    users.set(key, sockets)
    if (sockets > 1) return
    this.#transition(room, key, member, 'join', () => {
      const data = JSON.stringify(member.user_info === undefined ? { user_id: member.user_id } : member)
      // The joining socket learns the members from subscription_succeeded instead.
      this.#publish({ target: { kind: 'rooms', rooms: [room] }, except: [connection.id], event: 'pusher_internal:member_added', data, protocol: PUSHER_PROTOCOL })
    })
  }

  left(room: string, member: PresenceMember): void {
    const key = memberKey(member.user_id)
    const users = this.#local.get(room)
    const sockets = (users?.get(key) ?? 0) - 1
    if (users === undefined || sockets < 0) return
    if (sockets > 0) {
      users.set(key, sockets)
      return
    }
    users.delete(key)
    if (users.size === 0) this.#local.delete(room)
    this.#transition(room, key, member, 'leave', () => {
      const data = JSON.stringify({ user_id: member.user_id })
      this.#publish({ target: { kind: 'rooms', rooms: [room] }, event: 'pusher_internal:member_removed', data, protocol: PUSHER_PROTOCOL })
    })
  }

  #transition(room: string, key: string, member: PresenceMember, action: 'join' | 'leave', announce: () => void): void {
    this.#adapter.trackPresence(room, PRESENCE_KEY + key, action).then(
      (clusterWide) => {
        if (!clusterWide) return
        announce()
        this.#onChange(room, member, action)
      },
      (err: unknown) => this.#onError(err, room),
    )
  }

  /**
   * A transition the adapter found by itself for one of our keys: the members of a node that
   * died leave, and transitions it could not decide while its store was unreachable arrive late.
   * `localInfo` finds a joining member's info among this node's connections.
   */
  discovered(room: string, adapterKey: string, action: 'join' | 'leave', localInfo: (key: string) => PresenceMember | undefined): void {
    const key = adapterKey.slice(PRESENCE_KEY.length)
    let userId: unknown
    try {
      userId = JSON.parse(key)
    } catch {
      return
    }
    if (typeof userId !== 'string' && typeof userId !== 'number') return
    if (action === 'leave') {
      const member: PresenceMember = { user_id: userId }
      this.#publish({ target: { kind: 'rooms', rooms: [room] }, event: 'pusher_internal:member_removed', data: JSON.stringify(member), protocol: PUSHER_PROTOCOL })
      this.#onChange(room, member, action)
      return
    }
    const member = localInfo(key) ?? { user_id: userId }
    this.#publish({ target: { kind: 'rooms', rooms: [room] }, event: 'pusher_internal:member_added', data: JSON.stringify(member), protocol: PUSHER_PROTOCOL })
    this.#onChange(room, member, action)
  }
}

/** Adapter presence keys of Pusher members: a NUL (no real user id has one) and the id's JSON. */
export const PRESENCE_KEY = '\u0000pusher-member:'

/** The adapter presence key that stands for "this node has a subscriber" (occupied / vacated). */
export const OCCUPANCY_KEY = '\u0000pusher-occupied'
