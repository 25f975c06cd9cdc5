import type { Target } from '../../hub/delivery.js'
import type { InterestKind } from '../../hub/adapter.js'

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
 * Room and user names in keys are URI-encoded, so the `:` between them is unambiguous. No
 * command touches two keys at once, so Cluster needs no hash tags.
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
