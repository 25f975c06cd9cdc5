import { ErrorCode } from '../shared/codes.js'
import type { DroppedPayload, Envelope, HistoryPublication, HistoryRequest, MAX_HISTORY_READ, StreamPosition } from '../shared/envelope.js'
import { RoomcastError } from '../shared/errors.js'
import { SystemEvent } from '../shared/system-events.js'
import type { MessageMeta, RecoveryInfo } from './events.js'
import { StreamHolds } from './holds.js'
import { isHistoryReply } from './protocol.js'
import type { RoomBook } from './rooms.js'
import { asRoomcastError } from './wrap-error.js'

/**
 * Publications per history read when filling a gap: the server's most. Typed by the shared
 * constant (a value import would bring TypeBox into the browser bundle), so the two agree.
 */
const HISTORY_PAGE: typeof MAX_HISTORY_READ = 1000

/** Sends a request on a connection and resolves with its reply. */
export type Requester = (event: string, data: unknown) => Promise<unknown>

/** What a gap filler needs of its client. */
export interface GapFillerHost {
  rooms: RoomBook
  /** An application event to its listeners. */
  deliver(event: string, data: unknown, meta: MessageMeta): void
  recovery(info: RecoveryInfo): void
  error(error: RoomcastError): void
  /** A live delivery held back while its room's gap was filled, handled now. */
  replay(envelope: Envelope): void
}

/**
 * Fills gaps in rooms' streams from their history: after a drop notice, and for rooms the
 * server put the connection in itself (which are not rejoined, so get no `recover`). Live
 * deliveries to a room being filled are held back until the missed publications before them
 * have been delivered, so the application sees the room's messages in order, each once.
 */
export class GapFiller {
  readonly #host: GapFillerHost
  readonly #holds = new StreamHolds()

  constructor(host: GapFillerHost) {
    this.#host = host
  }

  /** Holds a live delivery back when its room is being filled; false when it can go on. */
  hold(room: string, envelope: Envelope): boolean {
    return this.#holds.hold(room, envelope)
  }

  /** The server skipped publications for this client: fill each room's gap from its history. */
  dropped(payload: DroppedPayload, request: Requester): void {
    const rooms = this.#host.rooms
    for (const [room, first] of Object.entries(payload.rooms ?? {})) {
      if (!rooms.has(room)) continue
      const since = { epoch: first.epoch, offset: Math.max(0, first.offset - 1) }
      const known = rooms.position(room)
      if (known !== undefined && known.epoch !== first.epoch) {
        rooms.settle(room, since, true)
        this.#host.recovery({ room, recovered: false, reason: 'epoch_changed', replayed: 0 })
        continue
      }
      void this.fill(room, since, request)
    }
  }

  /**
   * Fills a gap in a room's stream from its history: live deliveries to the room are held back
   * while the publications after `since` are read and delivered, then comes the `recovery`
   * outcome, then the held deliveries. Never rejects. When the link dies meanwhile nothing is
   * concluded: the next connection recovers from the same position.
   */
  async fill(room: string, since: StreamPosition, request: Requester): Promise<void> {
    if (!this.#holds.start(room)) {
      // A fill is under way: it reads again from here before it ends.
      this.#holds.widen(room, since.offset)
      return
    }
    const progress = { replayed: 0 }
    let outcome: RecoveryInfo
    try {
      outcome = await this.#read(room, since, request, progress)
    } catch (error) {
      const failure = asRoomcastError(error, ErrorCode.Internal, `could not read the history of ${room}`)
      if (failure.code === ErrorCode.Disconnected) {
        this.#holds.end(room)
        return
      }
      this.#host.error(failure)
      outcome = { room, recovered: false, replayed: progress.replayed }
    }
    const held = this.#holds.end(room)
    this.#host.recovery(outcome)
    for (const envelope of held) this.#host.replay(envelope)
  }

  /** Reads and delivers what a room's stream holds after `since`, page by page. */
  async #read(room: string, since: StreamPosition, request: Requester, progress: { replayed: number }): Promise<RecoveryInfo> {
    let from = since
    for (;;) {
      const reply = await request(SystemEvent.History, { room, since: from, limit: HISTORY_PAGE } satisfies HistoryRequest)
      if (!isHistoryReply(reply)) throw new RoomcastError(ErrorCode.BadEnvelope, 'the server sent a malformed history reply')
      if (reply.epoch !== from.epoch || !reply.complete) {
        // Not all of it is there: continue from the stream's position; the application reloads.
        this.#host.rooms.settle(room, reply, true)
        return { room, recovered: false, reason: reply.epoch !== from.epoch ? 'epoch_changed' : 'too_far_behind', replayed: progress.replayed }
      }
      for (const publication of reply.publications) if (this.#deliverStored(room, reply.epoch, publication)) progress.replayed++
      const last = reply.publications.at(-1)?.offset ?? from.offset
      const again = this.#holds.takeAgain(room)
      if (again !== undefined) from = { epoch: reply.epoch, offset: Math.min(again, last) }
      else if (reply.publications.length === HISTORY_PAGE && last < reply.offset) from = { epoch: reply.epoch, offset: last }
      else return { room, recovered: true, replayed: progress.replayed }
    }
  }

  /** A stored publication read to fill a gap: delivered unless seen already; true when delivered. */
  #deliverStored(room: string, epoch: string, publication: HistoryPublication): boolean {
    if (this.#host.rooms.admit(room, { epoch, offset: publication.offset }) === 'duplicate') return false
    this.#host.deliver(publication.event, publication.data, { room, offset: publication.offset, epoch })
    return true
  }
}
