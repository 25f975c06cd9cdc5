/**
 * Room streams: the port through which the hub keeps a bounded, ordered history for the rooms
 * that ask for one, and the shapes it speaks in. The in-process adapter keeps streams in memory;
 * a cluster adapter keeps them where every node sees them (Redis), appending and publishing each
 * publication in one step, so its offset and its place on the bus agree.
 */
import type { StreamPosition } from '../../shared/envelope.js'
import type { Delivery } from './delivery.js'

export type { StreamPosition }

/** How a room keeps its history: at most `size` publications, none older than `ttl` ms. */
export interface HistoryPolicy {
  size: number
  ttl: number
}

/** One publication as a stream keeps it; `data` is its JSON text, as on the wire. */
export interface StoredPublication {
  offset: number
  event: string
  data?: string
}

/** What a read returns: the stream's current position and the publications asked for. */
export interface HistoryPage {
  /** The stream's epoch and its latest offset (0 for a stream with nothing yet). */
  position: StreamPosition
  /** Oldest first, unless the read asked for `reverse`. */
  publications: StoredPublication[]
  /** The offset of the oldest publication still kept (`position.offset + 1` when none is). */
  oldest: number
}

export interface HistoryRead {
  /** Only publications with an offset above this one. */
  after?: number
  /** At most this many. */
  limit: number
  /** Newest first. */
  reverse?: boolean
}

export interface HistoryStore {
  /**
   * Appends a delivery to one room's stream with the stream's next offset, sets
   * `delivery.position`, and publishes it like `Adapter.publish` does (locally, then to the
   * other nodes), in one step where the store can (one round trip on Redis). Resolves with the
   * position once stored; rejects with `RoomcastError('publish_failed')` when it could not be
   * stored, in which case nothing was delivered.
   */
  publish(room: string, delivery: Delivery, policy: HistoryPolicy): Promise<StreamPosition>
  /** Reads a room's stream (a stream that does not exist yet answers with a new epoch at offset 0). */
  read(room: string, query: HistoryRead, policy: HistoryPolicy): Promise<HistoryPage>
}
