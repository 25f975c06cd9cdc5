import { randomBytes } from 'node:crypto'
import type { AdapterNode } from '../hub/adapter.js'
import type { Delivery } from '../hub/delivery.js'
import type { HistoryPage, HistoryPolicy, HistoryRead, HistoryStore, StoredPublication, StreamPosition } from '../hub/history.js'

interface Entry extends StoredPublication {
  /** When it was published (ms since epoch): older than the policy's `ttl`, it is gone. */
  at: number
}

/** One room's stream: a ring of its latest publications. */
interface Stream {
  epoch: string
  offset: number
  /** Oldest first; `entries[start]` is the oldest still kept. */
  entries: Entry[]
  start: number
  /** Last publication (or creation): the stream expires `ttl` after it. */
  touched: number
  ttl: number
}

/** A fresh stream lifetime's name: 64 random bits, so a client cannot mistake a new stream for its old one. */
function newEpoch(): string {
  return randomBytes(8).toString('base64url')
}

/**
 * The in-process adapter's room streams: per room, the last `size` publications of the last
 * `ttl` ms, in memory. A stream unpublished to for `ttl` is forgotten (its next use starts a new
 * epoch), so rooms that went quiet cost nothing. Expired streams are swept as new publications
 * and reads come in: the map is kept in order of last use, so the sweep looks only at its head.
 */
export class MemoryHistory implements HistoryStore {
  readonly #streams = new Map<string, Stream>()
  readonly #node: () => AdapterNode | undefined
  readonly #now: () => number

  constructor(node: () => AdapterNode | undefined, now: () => number = Date.now) {
    this.#node = node
    this.#now = now
  }

  publish(room: string, delivery: Delivery, policy: HistoryPolicy): Promise<StreamPosition> {
    const now = this.#now()
    const stream = this.#stream(room, policy, now)
    stream.offset++
    stream.touched = now
    stream.ttl = policy.ttl
    // Moved to the end: the map stays ordered by last publication, for the sweep.
    this.#streams.delete(room)
    this.#streams.set(room, stream)
    const entry: Entry = { offset: stream.offset, event: delivery.event, at: now }
    if (delivery.data !== undefined) entry.data = delivery.data
    stream.entries.push(entry)
    trim(stream, policy, now)
    const position: StreamPosition = { epoch: stream.epoch, offset: stream.offset }
    delivery.position = position
    // Stored and delivered in one synchronous step: no other publication can come in between.
    this.#node()?.deliver(delivery)
    return Promise.resolve(position)
  }

  async read(room: string, query: HistoryRead, policy: HistoryPolicy): Promise<HistoryPage> {
    const now = this.#now()
    const stream = this.#stream(room, policy, now)
    trim(stream, policy, now)
    const kept = stream.entries
    const oldest = stream.start < kept.length ? kept[stream.start]!.offset : stream.offset + 1
    // Offsets are consecutive, so the first one after `after` is found by arithmetic.
    const from = stream.start + Math.max(0, (query.after ?? 0) + 1 - oldest)
    let chosen: Entry[]
    if (query.reverse === true) chosen = kept.slice(Math.max(from, kept.length - query.limit)).reverse()
    else chosen = kept.slice(from, from + query.limit)
    return {
      position: { epoch: stream.epoch, offset: stream.offset },
      publications: chosen.map(({ offset, event, data }) => (data === undefined ? { offset, event } : { offset, event, data })),
      oldest,
    }
  }

  /** The room's live stream, a new one when it had none or it expired (a new epoch). */
  #stream(room: string, policy: HistoryPolicy, now: number): Stream {
    this.#sweep(now)
    let stream = this.#streams.get(room)
    if (stream === undefined || now - stream.touched >= stream.ttl) {
      stream = { epoch: newEpoch(), offset: 0, entries: [], start: 0, touched: now, ttl: policy.ttl }
      this.#streams.delete(room)
      this.#streams.set(room, stream)
    }
    return stream
  }

  /** Forgets expired streams from the head of the map (the least recently published). */
  #sweep(now: number): void {
    for (const [room, stream] of this.#streams) {
      if (now - stream.touched < stream.ttl) return
      this.#streams.delete(room)
    }
  }

  /** Streams kept in memory now (for tests). */
  get size(): number {
    return this.#streams.size
  }
}

/** Drops publications past `size` or older than `ttl`, compacting the array once half of it is dead. */
function trim(stream: Stream, policy: HistoryPolicy, now: number): void {
  const entries = stream.entries
  let start = Math.max(stream.start, entries.length - policy.size)
  while (start < entries.length && now - entries[start]!.at >= policy.ttl) start++
  if (start > 64 && start * 2 > entries.length) {
    entries.splice(0, start)
    start = 0
  }
  stream.start = start
}
