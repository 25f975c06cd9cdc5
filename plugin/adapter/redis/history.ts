/**
 * Room streams on Redis, shared by every node. A room's stream is two keys in the Cluster slot of
 * the room's channel (see `Keyspace.stream`): a hash with the stream's epoch and last offset, and
 * a Redis Stream of its publications (ids `<offset>-0`, fields t time, e event, d data, at most
 * `size` kept). Both expire `ttl` after the last publication; a stream that is gone (expired, or
 * a Redis restarted without persistence) starts over with a new epoch, so a client recovering
 * from the old one is told `epoch_changed` instead of being handed a silent gap.
 *
 * A publication is one script (one round trip): it appends, sets the expiry and publishes the
 * delivery with its position on the room's channel, so the order of offsets is the order on the
 * bus. Rooms without history never reach this file: they cost nothing more.
 *
 * This node's own members must see the room's publications in offset order too, but the
 * script's answer (on the command connection) and the other nodes' publications (on the
 * subscriber connection) race each other on two sockets: delivering at the answer could show
 * offset 6 before 5, and a client drops a delivery that is not above the last one it saw. So
 * when Redis has confirmed this node's subscription to the room before the script runs, the
 * message asks its origin to deliver it as it comes back from the bus (header `l`), in the
 * bus's order with everyone else's; otherwise (no member here, or the subscription still on
 * its way) it is delivered when the script answers. Either way exactly once.
 */
import type { StreamPosition } from '../../../shared/envelope.js'
import type { AdapterNode } from '../../hub/adapter.js'
import type { Delivery } from '../../hub/delivery.js'
import type { HistoryPage, HistoryPolicy, HistoryRead, HistoryStore, StoredPublication } from '../../hub/history.js'
import { publishFailed } from '../../hub/publish-outcome.js'
import { encodeDeliveryAwaitingPosition } from '../cluster/wire.js'
import type { RedisClient } from './client.js'
import { isClusterClient } from './connection.js'
import type { Keyspace } from './keyspace.js'
import { LuaScript } from './lua.js'
import { randomToken } from './registry.js'

/**
 * KEYS meta, entries. ARGV 1 a new epoch (used when the stream has none), 2 size, 3 ttl ms,
 * 4 event, 5 '1' when there is data, 6 data, 7 channel, 8 'S' for SPUBLISH (Cluster) or 'P',
 * 9 the bus header without its closing brace, 10 what follows the header. Returns {epoch, offset}.
 * A new epoch drops what an older one left behind (entries whose hash expired or was evicted).
 */
const PUBLISH = new LuaScript(`
local epoch = redis.call('HGET', KEYS[1], 'e')
if not epoch then
  epoch = ARGV[1]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'e', epoch)
end
local offset = redis.call('HINCRBY', KEYS[1], 'o', 1)
local now = redis.call('TIME')
local ms = now[1] * 1000 + math.floor(now[2] / 1000)
local id = string.format('%d-0', offset)
if ARGV[5] == '1' then
  redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], id, 't', ms, 'e', ARGV[4], 'd', ARGV[6])
else
  redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], id, 't', ms, 'e', ARGV[4])
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
local message = ARGV[9] .. ',"s":["' .. epoch .. '",' .. string.format('%d', offset) .. ']}' .. ARGV[10]
if ARGV[8] == 'S' then redis.call('SPUBLISH', ARGV[7], message) else redis.call('PUBLISH', ARGV[7], message) end
return {epoch, offset}
`)

/**
 * KEYS meta, entries. ARGV 1 a new epoch (used when the stream has none), 2 ttl ms, 3 after
 * (0: from the oldest), 4 limit, 5 '1' for newest first. Returns {epoch, last offset, oldest
 * kept offset, entries as XRANGE gives them}. A stream that does not exist is created empty
 * (its epoch kept `ttl`), so a client that saw it empty can recover what is published next.
 * Entries older than `ttl` are a prefix of the stream: a binary search finds the oldest kept.
 */
const READ = new LuaScript(`
local epoch = redis.call('HGET', KEYS[1], 'e')
if not epoch then
  epoch = ARGV[1]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'e', epoch, 'o', 0)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {epoch, 0, 1, {}}
end
local last = tonumber(redis.call('HGET', KEYS[1], 'o') or '0')
local now = redis.call('TIME')
local cutoff = now[1] * 1000 + math.floor(now[2] / 1000) - tonumber(ARGV[2])
local function first_from(offset)
  local entry = redis.call('XRANGE', KEYS[2], string.format('%d-0', offset), '+', 'COUNT', 1)[1]
  if not entry then return nil end
  local id = tonumber(string.match(entry[1], '^(%d+)'))
  local fields = entry[2]
  for i = 1, #fields, 2 do
    if fields[i] == 't' then return id, tonumber(fields[i + 1]) end
  end
  return id, 0
end
local oldest = last + 1
local lo, lo_time = first_from(0)
if lo then
  if lo_time >= cutoff then
    oldest = lo
  else
    local hi = last + 1
    while hi - lo > 1 do
      local mid = math.floor((lo + hi) / 2)
      local id, time = first_from(mid)
      if id and time < cutoff then lo = id else hi = mid end
    end
    local id, time = first_from(hi)
    if id and time >= cutoff then oldest = id end
  end
end
local from = math.max(tonumber(ARGV[3]) + 1, oldest)
local limit = tonumber(ARGV[4])
if limit < 1 or from > last then return {epoch, last, oldest, {}} end
local entries
if ARGV[5] == '1' then
  entries = redis.call('XREVRANGE', KEYS[2], '+', string.format('%d-0', from), 'COUNT', limit)
else
  entries = redis.call('XRANGE', KEYS[2], string.format('%d-0', from), '+', 'COUNT', limit)
end
return {epoch, last, oldest, entries}
`)

type RawEntry = [id: string, fields: string[]]
type RawPage = [epoch: string, last: number, oldest: number, entries: RawEntry[]]

export interface RedisHistoryOptions {
  /** The adapter's command connection, or the Emitter's (the application's) client. */
  connection: RedisClient
  keys: Keyspace
  /** This adapter's bus id: its own messages come back to it and are skipped. */
  busId: string
  /**
   * The attached node (undefined before `attach`). Absent for a store with no recipients of its
   * own (the standalone Emitter): it only stores and publishes.
   */
  node?: () => AdapterNode | undefined
  /**
   * Hand the script to a connection that is not ready yet instead of failing at once: for the
   * Emitter, whose client is the application's (its offline queue holds the script while Redis
   * is away). The adapter's own connection has no offline queue: default false.
   */
  waitsForConnection?: boolean
  /** Whether Redis confirmed this node's subscription to a channel (see the file comment). */
  listening: (channel: string) => boolean
  /**
   * Resolves true once Redis confirmed this node's subscription to a channel it wants (at once
   * when it wants none), false when that took too long. Absent: reads do not wait (the Emitter).
   */
  untilListening?: (channel: string) => Promise<boolean>
  /** Whether the adapter still publishes (attached, or closing). */
  accepting: () => boolean
  onFailure(what: string, error: Error, details: Record<string, unknown>): void
  onSuccess(what: string): void
}

export class RedisHistory implements HistoryStore {
  readonly #options: RedisHistoryOptions
  readonly #publishCommand: 'S' | 'P'

  constructor(options: RedisHistoryOptions) {
    this.#options = options
    this.#publishCommand = isClusterClient(options.connection) ? 'S' : 'P'
  }

  /**
   * Stores and publishes in one script; this node's own recipients get it from the bus or when
   * Redis has answered (see the file comment). Nothing is delivered when it fails.
   */
  async publish(room: string, delivery: Delivery, policy: HistoryPolicy): Promise<StreamPosition> {
    const node = this.#options.node?.()
    if ((this.#options.node !== undefined && node === undefined) || !this.#options.accepting()) {
      throw publishFailed(new Error('the redis adapter is not attached'), STORE_FAILED)
    }
    const connection = this.#options.connection
    if (connection.status !== 'ready' && this.#options.waitsForConnection !== true)
      throw this.#failed(new Error(`Redis connection is ${connection.status}`), room)
    const keys = this.#options.keys.stream(room)
    // Decided before the script runs: then the message is sure to come back.
    const loopback = this.#options.listening(keys.channel)
    const bus = encodeDeliveryAwaitingPosition(delivery, this.#options.busId, loopback)
    let reply: unknown
    try {
      reply = await PUBLISH.run(
        connection,
        [keys.meta, keys.entries],
        [
          randomToken(),
          Math.max(1, Math.floor(policy.size)),
          ttlOf(policy),
          delivery.event,
          delivery.data === undefined ? '0' : '1',
          delivery.data ?? '',
          keys.channel,
          this.#publishCommand,
          bus.head,
          bus.tail,
        ],
      )
    } catch (err) {
      throw this.#failed(err instanceof Error ? err : new Error(String(err)), room)
    }
    this.#options.onSuccess('history publish')
    const [epoch, offset] = reply as [string, number]
    const position: StreamPosition = { epoch, offset: Number(offset) }
    delivery.position = position
    if (!loopback) node?.deliver(delivery)
    return position
  }

  /**
   * A join reads the stream once its connection is in the room and its live publications are
   * held. A publication stored after the read reaches the hold only if this node was already
   * subscribed to the room's channel when it was published, so the read first waits until Redis
   * has confirmed that subscription (when this node wants it): then every publication is either
   * in the read or on its way through the bus, never lost in between. The script stores and
   * publishes in one step, so there is no third case.
   */
  async read(room: string, query: HistoryRead, policy: HistoryPolicy): Promise<HistoryPage> {
    const keys = this.#options.keys.stream(room)
    if (this.#options.untilListening !== undefined && !(await this.#options.untilListening(keys.channel))) {
      throw new Error(
        `roomcast: redis adapter: the history of room ${JSON.stringify(room)} could not be read: Redis did not confirm this node's subscription to it in time`,
      )
    }
    let reply: unknown
    try {
      reply = await READ.run(
        this.#options.connection,
        [keys.meta, keys.entries],
        [randomToken(), ttlOf(policy), Math.max(0, Math.floor(query.after ?? 0)), Math.floor(query.limit), query.reverse === true ? '1' : '0'],
      )
    } catch (err) {
      const error = new Error(`roomcast: redis adapter: the history of room ${JSON.stringify(room)} could not be read from Redis`)
      error.cause = err
      throw error
    }
    const [epoch, last, oldest, entries] = reply as RawPage
    return {
      position: { epoch, offset: Number(last) },
      publications: entries.map(publicationOf),
      oldest: Number(oldest),
    }
  }

  #failed(cause: Error, room: string): Error {
    this.#options.onFailure('history publish', cause, { room })
    return publishFailed(cause, STORE_FAILED)
  }
}

const STORE_FAILED = "the publication could not be stored in the room's history: nobody received it"

/** Redis wants a whole number of ms of at least one. */
function ttlOf(policy: HistoryPolicy): number {
  return Math.max(1, Math.ceil(policy.ttl))
}

function publicationOf([id, fields]: RawEntry): StoredPublication {
  const publication: StoredPublication = { offset: Number.parseInt(id, 10), event: '' }
  for (let i = 0; i < fields.length; i += 2) {
    if (fields[i] === 'e') publication.event = fields[i + 1]!
    else if (fields[i] === 'd') publication.data = fields[i + 1]!
  }
  return publication
}
