import { randomBytes } from 'node:crypto'
import type { BusConnection } from './connection.js'
import type { Keyspace } from './keyspace.js'
import { LuaScript } from './lua.js'

/** A short random token (72 bits, base64url: no space, no colon). */
export function randomToken(): string {
  return randomBytes(9).toString('base64url')
}

/**
 * One heartbeat, run atomically on the Redis clock (so nodes' clocks never disagree):
 * 1. refresh this node's entry in the registry sorted set (score = expiry time in ms); when the
 *    caller says it was registered but the entry is gone, another node declared it dead and
 *    cleaned up after it, so answer 0 and let it come back under a new incarnation;
 * 2. claim expired entries: each is replaced by a `reap:` entry that expires after the claim
 *    time, so exactly one node cleans up after a dead one, and another takes over if that node
 *    dies too before it is done;
 * 3. return the claimed members and the live ones.
 * KEYS[1] registry; ARGV: member, ttl ms, must-exist flag, claim ms.
 */
const HEARTBEAT = new LuaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[3] == '1' and not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return {0, {}, {}}
end
redis.call('ZADD', KEYS[1], string.format('%.0f', now + tonumber(ARGV[2])), ARGV[1])
local claimed = {}
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now), 'LIMIT', 0, 16)) do
  redis.call('ZREM', KEYS[1], member)
  local dead = member
  if string.sub(member, 1, 5) == 'reap:' then dead = string.sub(member, 6) end
  redis.call('ZADD', KEYS[1], string.format('%.0f', now + tonumber(ARGV[4])), 'reap:' .. dead)
  claimed[#claimed + 1] = dead
end
local live = {}
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. string.format('%.0f', now), '+inf')) do
  if string.sub(member, 1, 5) ~= 'reap:' then live[#live + 1] = member end
end
return {1, claimed, live}
`)

/** A node incarnation as stored in the registry: `<incarnation> <nodeId>`. */
export interface NodeMember {
  incarnation: string
  nodeId: string
}

export function memberOf(node: NodeMember): string {
  return `${node.incarnation} ${node.nodeId}`
}

export function parseMember(member: string): NodeMember | undefined {
  const space = member.indexOf(' ')
  if (space <= 0) return undefined
  return { incarnation: member.slice(0, space), nodeId: member.slice(space + 1) }
}

export interface RegistryEvents {
  /** A node left the live set (dead, or said goodbye): stop waiting for its answers. */
  departed(nodeId: string): void
  /** This node claimed a dead incarnation: clean up after it, then call `released`. */
  claimed(dead: NodeMember): void
  /** This node had been declared dead; it is back under a new incarnation and must re-announce its state. */
  reincarnated(previous: string): void
  failed(error: Error): void
}

/**
 * Which nodes are alive, from heartbeats kept in Redis. A node refreshes its entry every half
 * interval with an expiry of 1.5 intervals, and reaps expired entries on the same beat; so a
 * dead node is out of the live set 1.5 intervals after its last heartbeat and cleaned up
 * within two intervals of its death. Queries wait only for nodes in the live set.
 */
export class NodeRegistry {
  readonly nodeId: string
  incarnation = randomToken()
  readonly #connection: BusConnection
  readonly #keys: Keyspace
  readonly #interval: number
  readonly #claimMs: number
  readonly #events: RegistryEvents
  /** Other live nodes, by nodeId. */
  readonly #live = new Set<string>()
  /** When each node last said hello: a heartbeat that started earlier cannot know it yet. */
  readonly #hellos = new Map<string, number>()
  #registered = false
  #beating: Promise<void> | undefined

  constructor(connection: BusConnection, keys: Keyspace, nodeId: string, interval: number, events: RegistryEvents) {
    this.#connection = connection
    this.#keys = keys
    this.nodeId = nodeId
    this.#interval = interval
    this.#claimMs = Math.max(30_000, 6 * interval)
    this.#events = events
  }

  /** Other nodes believed alive. */
  liveNodes(): string[] {
    return [...this.#live]
  }

  get member(): string {
    return memberOf({ incarnation: this.incarnation, nodeId: this.nodeId })
  }

  /** One heartbeat, due every half interval (coalesced with one already running). Never rejects. */
  beat(): Promise<void> {
    this.#beating ??= this.#beat().finally(() => {
      this.#beating = undefined
    })
    return this.#beating
  }

  /** A node announced itself: count on it now rather than at the next heartbeat. */
  markAlive(nodeId: string): void {
    if (nodeId === this.nodeId) return
    this.#live.add(nodeId)
    this.#hellos.set(nodeId, Date.now())
  }

  /** A node said goodbye. */
  markGone(nodeId: string): void {
    this.#hellos.delete(nodeId)
    if (this.#live.delete(nodeId)) this.#events.departed(nodeId)
  }

  /** The clean-up after a claimed dead incarnation is done. */
  async released(dead: NodeMember): Promise<void> {
    await (this.#connection as unknown as { zrem(key: string, member: string): Promise<unknown> }).zrem(this.#keys.registry, 'reap:' + memberOf(dead))
  }

  /** Leaves the registry (graceful close). */
  async deregister(): Promise<void> {
    if (!this.#registered) return
    this.#registered = false
    await (this.#connection as unknown as { zrem(key: string, member: string): Promise<unknown> }).zrem(this.#keys.registry, this.member)
  }

  async #beat(): Promise<void> {
    const startedAt = Date.now()
    try {
      let reply = await this.#run()
      if (reply[0] === 0) {
        const previous = this.incarnation
        this.incarnation = randomToken()
        this.#registered = false
        reply = await this.#run()
        this.#registered = true
        this.#events.reincarnated(previous)
      }
      this.#registered = true
      this.#update(reply[2], startedAt)
      for (const member of reply[1]) {
        const dead = parseMember(member)
        if (dead !== undefined) this.#events.claimed(dead)
      }
    } catch (err) {
      this.#events.failed(err instanceof Error ? err : new Error(String(err)))
    }
  }

  async #run(): Promise<[number, string[], string[]]> {
    const ttl = Math.ceil(this.#interval * 1.5)
    const reply = await HEARTBEAT.run(this.#connection, [this.#keys.registry], [this.member, ttl, this.#registered ? '1' : '0', this.#claimMs])
    return reply as [number, string[], string[]]
  }

  #update(members: string[], startedAt: number): void {
    const next = new Set<string>()
    for (const member of members) {
      const node = parseMember(member)
      if (node !== undefined && node.nodeId !== this.nodeId) next.add(node.nodeId)
    }
    for (const [nodeId, at] of this.#hellos) {
      if (at >= startedAt) next.add(nodeId)
      else this.#hellos.delete(nodeId)
    }
    const departed = [...this.#live].filter((nodeId) => !next.has(nodeId))
    this.#live.clear()
    for (const nodeId of next) this.#live.add(nodeId)
    for (const nodeId of departed) this.#events.departed(nodeId)
  }
}
