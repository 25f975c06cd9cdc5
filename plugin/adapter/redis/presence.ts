import type { PresenceChange } from '../../hub/hooks.js'
import type { BusConnection } from './connection.js'
import { KeyedQueue } from './keyed-queue.js'
import type { Keyspace } from './keyspace.js'
import { LuaScript } from './lua.js'
import type { NodeMember } from './registry.js'

/** Adds an incarnation to a (room, user) set; 1 when the set was empty: the user entered the room cluster-wide. */
const ENTER = new LuaScript(`
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 and redis.call('SCARD', KEYS[1]) == 1 then return 1 end
return 0
`)

/** Removes an incarnation; 1 when that emptied the set: the user's last socket in the room, anywhere, is gone. */
const EXIT = new LuaScript(`
if redis.call('SREM', KEYS[1], ARGV[1]) == 1 and redis.call('SCARD', KEYS[1]) == 0 then return 1 end
return 0
`)

/** How long the mark of a cleaned-up incarnation stays: longer than any partition a node could come back from. */
const REAPED_MARK_TTL = 24 * 60 * 60 * 1000

interface SetCommands {
  set(key: string, value: string, px: 'PX', ttl: number): Promise<unknown>
  exists(key: string): Promise<number>
  sadd(key: string, member: string): Promise<unknown>
  srem(key: string, member: string): Promise<unknown>
  smembers(key: string): Promise<string[]>
  del(key: string): Promise<unknown>
}

interface Pair {
  room: string
  userId: string
}

/**
 * A pair this node holds, and whether it has been announced: Redis took it and its `join` was
 * emitted if due. A pair Redis lost although it was announced (a restart without persistence)
 * is re-announced quietly: nobody saw it leave, so a `join` would be a duplicate.
 */
interface LocalPair extends Pair {
  announced: boolean
}

/** Pairs are stored as the JSON text of `[room, userId]`: unambiguous whatever the names contain. */
function pairKey(room: string, userId: string): string {
  return JSON.stringify([room, userId])
}

function parsePair(text: string): Pair | undefined {
  try {
    const value: unknown = JSON.parse(text)
    if (Array.isArray(value) && typeof value[0] === 'string' && typeof value[1] === 'string') return { room: value[0], userId: value[1] }
  } catch {
    // fall through
  }
  return undefined
}

/** How many commands go out together when a whole state is re-announced or cleaned up. */
const BATCH = 500

export interface PresenceEvents {
  /** A cluster-wide transition found by the store itself (a dead node's users, a resync), not by `track`. */
  changed(change: PresenceChange): void
}

/**
 * Cluster-wide presence in Redis. For each (room, user) a set holds the node incarnations where
 * that user has a socket in the room; the first incarnation in is the cluster-wide `join`, the
 * last one out the `leave`, decided atomically by Redis. Each incarnation also records its own
 * pairs, so when it dies the node that claims it removes exactly its entries and emits the
 * `leave`s that result, once.
 *
 * The store mirrors this node's pairs in memory. When Redis was unreachable (a `track` failed)
 * or this node came back under a new incarnation, `resync` makes Redis match the mirror and
 * emits the transitions that were missed.
 *
 * Updates of one pair run one after the other: each is two round trips (the record and the
 * set), and a leave overtaking the join before it would find nothing to remove, after which
 * the join would leave a member behind for good.
 */
export class PresenceStore {
  readonly #connection: BusConnection
  readonly #commands: SetCommands
  readonly #keys: Keyspace
  readonly #incarnation: () => string
  readonly #events: PresenceEvents
  readonly #local = new Map<string, LocalPair>()
  /** One chain of updates per pair. */
  readonly #pairs = new KeyedQueue()
  /** Updates past the resync gate, talking to Redis now: what a resync must wait for. */
  readonly #inFlight = new Set<Promise<unknown>>()
  #resync: Promise<void> | undefined

  constructor(connection: BusConnection, keys: Keyspace, incarnation: () => string, events: PresenceEvents) {
    this.#connection = connection
    this.#commands = connection as unknown as SetCommands
    this.#keys = keys
    this.#incarnation = incarnation
    this.#events = events
  }

  /** Pairs this node holds. */
  get size(): number {
    return this.#local.size
  }

  /** Resolves true when this join/leave is also the cluster's. Rejects when Redis cannot be reached. */
  track(room: string, userId: string, action: 'join' | 'leave'): Promise<boolean> {
    const key = pairKey(room, userId)
    const local: LocalPair = { room, userId, announced: false }
    // The mirror follows the calls at once, in call order; Redis follows through the pair's queue.
    if (action === 'join') this.#local.set(key, local)
    else this.#local.delete(key)
    return this.#pairs.run(key, async () => {
      // A resync compares the mirror with Redis; changes wait for it so neither sees half of the other.
      while (this.#resync !== undefined) await this.#resync.catch(() => {})
      const operation = action === 'join' ? this.#enter(key, room, userId, this.#incarnation()) : this.#exit(key, room, userId, this.#incarnation())
      this.#inFlight.add(operation)
      try {
        const transition = await operation
        local.announced = true
        return transition
      } finally {
        this.#inFlight.delete(operation)
      }
    })
  }

  /**
   * Makes this incarnation's entries in Redis match the mirror, emitting the transitions that
   * were missed: `join`s of pairs never announced, `leave`s of pairs that left meanwhile.
   */
  resync(): Promise<void> {
    this.#resync ??= this.#reconcile().finally(() => {
      this.#resync = undefined
    })
    return this.#resync
  }

  /**
   * Removes a dead incarnation's entries, emitting a `leave` where it held a user's last socket,
   * and leaves a mark saying so: if that node was not dead after all and comes back, it knows
   * its users' `leave`s went out and that their `join`s are due again.
   */
  async cleanUp(dead: NodeMember): Promise<void> {
    await this.retire(dead.incarnation)
    await this.#commands.set(this.#keys.reapedMark(dead.incarnation), '1', 'PX', REAPED_MARK_TTL)
  }

  /**
   * Removes whatever an old incarnation still has in Redis, emitting the `leave`s that result.
   * This node calls it for its own previous incarnation once it has re-announced itself, in
   * case an update still in flight under the old one landed after the clean-up.
   */
  async retire(incarnation: string): Promise<void> {
    const record = this.#keys.presenceRecord(incarnation)
    const pairs = await this.#commands.smembers(record)
    await inBatches(pairs, async (text) => {
      const pair = parsePair(text)
      if (pair === undefined) return
      const left = await EXIT.run(this.#connection, [this.#keys.presence(pair.room, pair.userId)], [incarnation])
      if (left === 1) this.#events.changed({ room: pair.room, userId: pair.userId, action: 'leave' })
    })
    await this.#commands.del(record)
  }

  /** Whether the clean-up after this incarnation ran (see `cleanUp`). */
  async wasReaped(incarnation: string): Promise<boolean> {
    return (await this.#commands.exists(this.#keys.reapedMark(incarnation))) === 1
  }

  /** Graceful close: takes this node's remaining users out (emitting their `leave`s) and its record away. */
  async withdraw(): Promise<void> {
    await this.idle()
    const incarnation = this.#incarnation()
    const pairs = [...this.#local.entries()]
    this.#local.clear()
    await inBatches(pairs, async ([key, pair]) => {
      const left = await this.#pairs.run(key, () => this.#exit(key, pair.room, pair.userId, incarnation))
      if (left) this.#events.changed({ room: pair.room, userId: pair.userId, action: 'leave' })
    })
    await this.#commands.del(this.#keys.presenceRecord(incarnation))
  }

  /** Resolves when no presence operation is running or queued. */
  async idle(): Promise<void> {
    while (this.#resync !== undefined || this.#inFlight.size > 0 || this.#pairs.size > 0) {
      if (this.#resync !== undefined) await this.#resync.catch(() => {})
      await Promise.allSettled([...this.#inFlight])
      await this.#pairs.idle()
    }
  }

  /** Another node declared this one dead and emitted its users' `leave`s: every pair must be announced anew. */
  forgetAnnouncements(): void {
    for (const pair of this.#local.values()) pair.announced = false
  }

  /** Forgets the mirror without touching Redis (an abrupt stop: the entries stay for the reaper). */
  forget(): void {
    this.#local.clear()
  }

  async #enter(key: string, room: string, userId: string, incarnation: string): Promise<boolean> {
    // The record first: if this node dies in between, the reaper still finds (and removes) the entry.
    await this.#commands.sadd(this.#keys.presenceRecord(incarnation), key)
    return (await ENTER.run(this.#connection, [this.#keys.presence(room, userId)], [incarnation])) === 1
  }

  async #exit(key: string, room: string, userId: string, incarnation: string): Promise<boolean> {
    const left = (await EXIT.run(this.#connection, [this.#keys.presence(room, userId)], [incarnation])) === 1
    await this.#commands.srem(this.#keys.presenceRecord(incarnation), key)
    return left
  }

  async #reconcile(): Promise<void> {
    await Promise.allSettled([...this.#inFlight])
    const incarnation = this.#incarnation()
    const remote = new Set(await this.#commands.smembers(this.#keys.presenceRecord(incarnation)))
    const missing = [...this.#local.entries()].filter(([key]) => !remote.has(key))
    const stale = [...remote].filter((key) => !this.#local.has(key))
    await inBatches(missing, async ([key, pair]) => {
      const quiet = pair.announced
      const entered = await this.#enter(key, pair.room, pair.userId, incarnation)
      pair.announced = true
      if (entered && !quiet) this.#events.changed({ room: pair.room, userId: pair.userId, action: 'join' })
    })
    await inBatches(stale, async (key) => {
      const pair = parsePair(key)
      if (pair === undefined) {
        await this.#commands.srem(this.#keys.presenceRecord(incarnation), key)
        return
      }
      if (await this.#exit(key, pair.room, pair.userId, incarnation)) this.#events.changed({ ...pair, action: 'leave' })
    })
  }
}

/** Runs `work` over the items, `BATCH` at a time: pipelined on the connection, bounded in memory. */
async function inBatches<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += BATCH) {
    const results = await Promise.allSettled(items.slice(i, i + BATCH).map(work))
    const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected')
    if (failure !== undefined) throw failure.reason
  }
}
