import { createRequire } from 'node:module'
import type { Target } from '../../hub/delivery.js'
import type { InterestKind } from '../../hub/adapter.js'

/** Redis Cluster's hash slot of a key or channel name (the package ioredis routes with; it ships no types). */
const clusterSlot: (name: string) => number = createRequire(import.meta.url)('cluster-key-slot')

/**
 * Every Redis channel and key the adapter and the Emitter use, under one prefix.
 *
 * Channels (pub/sub, sharded on a Cluster; each name hashes to its own slot, so the traffic of
 * different rooms spreads over the shards):
 *   P:all            deliveries to everyone; every node listens
 *   P:r:<room>       deliveries to a room; nodes with a member of the room listen
 *   P:u:<userId>     deliveries to a user; nodes with a connection of the user listen
 *   P:c:<connId>     deliveries to one connection; the node holding it listens
 *   P:ctl            cluster control: queries, hello, bye; every node listens
 *   P:node:<busId>   answers to the queries of one node; only that node listens
 * A name after the kind letter is taken whole, so no room, user or id can collide with another.
 *
 * Keys:
 *   P:nodes                     sorted set of live nodes, scored by heartbeat expiry (Redis clock)
 *   P:presence:<room>:<user>    set of node incarnations where the user is in the room
 *   P:node:<incarnation>:pres   set of the (room, user) pairs an incarnation has announced
 *   P:node:<incarnation>:reaped present for a day after a dead incarnation was cleaned up
 *   {T}…:hm / {T}…:hs           a room's stream (history rooms only): a hash { e: epoch, o: last
 *                               offset } and a Redis Stream of its publications (ids `<offset>-0`)
 * Room and user names in keys are URI-encoded, so the `:` between them is unambiguous. Only a
 * room's stream script touches two keys and publishes: both keys carry a hash tag `{T}` that puts
 * them in the Cluster slot of the room's channel, so SPUBLISH runs inside the script (see
 * `stream`). Every other command touches one key.
 */
export class Keyspace {
  readonly prefix: string
  readonly broadcast: string
  readonly control: string
  readonly registry: string
  readonly #room: string
  readonly #user: string
  readonly #connection: string

  constructor(prefix: string) {
    this.prefix = prefix
    this.broadcast = `${prefix}:all`
    this.control = `${prefix}:ctl`
    this.registry = `${prefix}:nodes`
    this.#room = `${prefix}:r:`
    this.#user = `${prefix}:u:`
    this.#connection = `${prefix}:c:`
  }

  /** The channel carrying deliveries for one room, user or connection. */
  interest(kind: InterestKind, name: string): string {
    switch (kind) {
      case 'room':
        return this.#room + name
      case 'user':
        return this.#user + name
      case 'connection':
        return this.#connection + name
    }
  }

  /** The channels a delivery must be published on: one per named room, user or connection. */
  deliveryChannels(target: Target): string[] {
    switch (target.kind) {
      case 'rooms':
        return target.rooms.map((room) => this.#room + room)
      case 'users':
        return target.users.map((user) => this.#user + user)
      case 'connections':
        return target.ids.map((id) => this.#connection + id)
      case 'all':
        return [this.broadcast]
    }
  }

  /**
   * One room's stream keys, in the Cluster hash slot of its channel (`P:r:<room>`, unchanged so
   * Emitters and nodes of other versions keep talking): the tag is the part of the channel name
   * Cluster hashes when that part holds no `}`, which is every room name without one. A room
   * name with a `}` takes a short numeric tag of the same slot instead.
   */
  stream(room: string): RoomStreamKeys {
    const channel = this.#room + room
    const hashed = hashedPart(channel)
    const tag = hashed.includes('}') ? slotTag(clusterSlot(channel)) : hashed
    // With the channel's own hashed part as tag, the tag alone names the room; a slot tag does not.
    const base = tag === hashed ? `{${tag}}` : `{${tag}}${channel}`
    return { channel, meta: `${base}:hm`, entries: `${base}:hs` }
  }

  /** Where the answers to one node's queries go. */
  node(busId: string): string {
    return `${this.prefix}:node:${busId}`
  }

  presence(room: string, userId: string): string {
    return `${this.prefix}:presence:${encodeURIComponent(room)}:${encodeURIComponent(userId)}`
  }

  presenceRecord(incarnation: string): string {
    return `${this.prefix}:node:${incarnation}:pres`
  }

  /** Set (with a day's expiry) once a dead incarnation's presence was cleaned up. */
  reapedMark(incarnation: string): string {
    return `${this.prefix}:node:${incarnation}:reaped`
  }
}

/** The keys and channel of one room's stream; all three hash to one Cluster slot. */
export interface RoomStreamKeys {
  channel: string
  /** Hash { e: epoch, o: last offset }. */
  meta: string
  /** Redis Stream of the publications, ids `<offset>-0`. */
  entries: string
}

/** What Redis Cluster hashes of a name: the first non-empty `{…}` section, else the whole name. */
export function hashedPart(name: string): string {
  const open = name.indexOf('{')
  if (open >= 0) {
    const close = name.indexOf('}', open + 1)
    if (close > open + 1) return name.slice(open + 1, close)
  }
  return name
}

const slotTags = new Map<number, string>()

/** The shortest decimal string that hashes to `slot` (found once per slot, in a few thousand tries at most). */
function slotTag(slot: number): string {
  let tag = slotTags.get(slot)
  if (tag !== undefined) return tag
  for (let n = 0; ; n++) {
    if (clusterSlot(String(n)) === slot) {
      tag = String(n)
      slotTags.set(slot, tag)
      return tag
    }
  }
}
