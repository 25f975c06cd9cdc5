import { ErrorCode } from '../shared/codes.js'
import type { JoinRequest, StreamPosition, StreamState } from '../shared/envelope.js'
import { RoomcastError } from '../shared/errors.js'
import { SystemEvent } from '../shared/system-events.js'
import type { RecoveryInfo } from './events.js'
import { isJoinReply } from './protocol.js'

/** Rooms per `join` request, the server's limit. */
const ROOMS_PER_REQUEST = 100

/** How to put a new connection back in the client's rooms. */
export interface RestorePlan {
  /** Rooms to join again, in requests of at most the server's limit each. */
  rejoin: string[][]
  /** Rooms the server put the connection in on its own that the client had left on purpose. */
  leave: string[]
  /**
   * Rooms the server put the connection in on its own (no rejoin, so no `recover`) whose stream
   * the client knows: what they missed is read from history.
   */
  refill: Array<{ room: string; since: StreamPosition }>
}

/** What a room delivery carrying a stream position means for the client. */
export type Admission = 'new' | 'duplicate' | 'new-epoch'

/**
 * The client's rooms across connections: the ones it is in (restored after a reconnection),
 * and the server's own rooms (`defaultRooms`) it left on purpose, so that it leaves them again
 * when the server hands them out again.
 */
export class RoomBook {
  readonly #rooms = new Set<string>()
  /**
   * Rooms left on purpose that the server put the client in on its own. Only rooms from the
   * last `connected` are kept, so the set stays as small as the server's own list.
   */
  readonly #declined = new Set<string>()
  /** The rooms the server put this connection in when it said `connected`. */
  #handedOut: ReadonlySet<string> = new Set()
  /** The last position seen per room with history: what a rejoin recovers from, and what makes a replayed delivery a duplicate. */
  readonly #positions = new Map<string, StreamPosition>()

  /** The last position the client saw in a room's stream. */
  position(room: string): StreamPosition | undefined {
    return this.#positions.get(room)
  }

  /**
   * A delivery at `position`: `duplicate` when the client saw it already (same epoch, offset not
   * above the known one), `new-epoch` when the stream began anew since the last one seen.
   */
  admit(room: string, position: StreamPosition): Admission {
    const known = this.#positions.get(room)
    if (known !== undefined && known.epoch === position.epoch && position.offset <= known.offset) return 'duplicate'
    this.#positions.set(room, { epoch: position.epoch, offset: position.offset })
    return known === undefined || known.epoch === position.epoch ? 'new' : 'new-epoch'
  }

  /**
   * The server's word on a room's stream (a join's ack, a history reply). It never moves the
   * position back within an epoch, unless `reset` (a failed recovery: continue from the server's).
   */
  settle(room: string, position: StreamPosition, reset = false): void {
    const known = this.#positions.get(room)
    if (!reset && known !== undefined && known.epoch === position.epoch && known.offset >= position.offset) return
    this.#positions.set(room, { epoch: position.epoch, offset: position.offset })
  }

  /** Applies a join's `streams`; the ones that answer a `recover` are returned as recovery outcomes. */
  settleStreams(streams: Record<string, StreamState> | undefined): RecoveryInfo[] {
    const outcomes: RecoveryInfo[] = []
    for (const [room, state] of Object.entries(streams ?? {})) {
      this.settle(room, state, state.recovered === false)
      if (state.recovered === undefined) continue
      const outcome: RecoveryInfo = { room, recovered: state.recovered, replayed: state.replayed ?? 0 }
      if (state.reason !== undefined) outcome.reason = state.reason
      outcomes.push(outcome)
    }
    return outcomes
  }

  get list(): string[] {
    return [...this.#rooms]
  }

  has(room: string): boolean {
    return this.#rooms.has(room)
  }

  /** The client is in these rooms now (a join reply, the server's `membership`). */
  entered(rooms: Iterable<string>): void {
    for (const room of rooms) {
      this.#rooms.add(room)
      this.#declined.delete(room)
    }
  }

  /** The client is out of these rooms and does not rejoin them (the server's `membership`, a refused rejoin). */
  removed(rooms: Iterable<string>): void {
    for (const room of rooms) {
      this.#rooms.delete(room)
      this.#positions.delete(room)
    }
  }

  /** The client leaves these rooms on purpose; returns the ones it was in. */
  leave(rooms: readonly string[]): string[] {
    const left = rooms.filter((room) => this.#rooms.has(room))
    for (const room of rooms) {
      this.#rooms.delete(room)
      this.#positions.delete(room)
      if (this.#handedOut.has(room)) this.#declined.add(room)
    }
    return left
  }

  /** A new connection that the server put in `given` rooms: what to join and leave to restore the client's rooms. */
  restore(given: readonly string[]): RestorePlan {
    const serverRooms = new Set(given)
    this.#handedOut = serverRooms
    for (const room of this.#declined) if (!serverRooms.has(room)) this.#declined.delete(room)
    const leave = given.filter((room) => this.#declined.has(room))
    for (const room of given) if (!this.#declined.has(room)) this.#rooms.add(room)
    const missing = [...this.#rooms].filter((room) => !serverRooms.has(room))
    const rejoin: string[][] = []
    for (let i = 0; i < missing.length; i += ROOMS_PER_REQUEST) rejoin.push(missing.slice(i, i + ROOMS_PER_REQUEST))
    const refill: RestorePlan['refill'] = []
    for (const room of given) {
      const since = this.#positions.get(room)
      if (since !== undefined && !this.#declined.has(room)) refill.push({ room, since })
    }
    return { rejoin, leave, refill }
  }

  /** A rejoin of `rooms`, asking the server to replay what the client missed in those it knows the stream of. */
  #rejoinRequest(rooms: string[]): JoinRequest {
    const recover: Record<string, StreamPosition> = {}
    let any = false
    for (const room of rooms) {
      const position = this.#positions.get(room)
      if (position === undefined) continue
      recover[room] = position
      any = true
    }
    return any ? { rooms, recover } : { rooms }
  }

  /**
   * Runs a plan's joins and leaves over `request` (a request on the new connection). A room the
   * server refuses is forgotten and `report`ed; the outcome of each room's recovery goes to
   * `recovered` (its replayed publications came before the ack). Rejects with the first timeout
   * or disconnect: the connection is gone or stalled, and nothing can be concluded about its rooms.
   */
  carryOut(
    plan: RestorePlan,
    request: (event: string, data: unknown) => Promise<unknown>,
    report: (error: RoomcastError) => void,
    recovered: (outcome: RecoveryInfo) => void = () => {},
  ): Promise<unknown> {
    const refuse = (room: string, error: RoomcastError): void => {
      this.removed([room])
      report(error)
    }
    const work = plan.rejoin.map((chunk) =>
      request(SystemEvent.Join, this.#rejoinRequest(chunk)).then(
        (reply) => {
          if (!isJoinReply(reply)) {
            report(new RoomcastError(ErrorCode.BadEnvelope, 'the server sent a malformed join reply'))
            return
          }
          for (const room of reply.refused) refuse(room, new RoomcastError(ErrorCode.JoinRefused, `not allowed back into ${room}`))
          for (const outcome of this.settleStreams(reply.streams)) recovered(outcome)
        },
        (error: RoomcastError) => {
          if (error.code === ErrorCode.Timeout || error.code === ErrorCode.Disconnected) throw error
          for (const room of chunk) refuse(room, new RoomcastError(error.code, `could not rejoin ${room}: ${error.message}`))
        },
      ),
    )
    if (plan.leave.length > 0) work.push(request(SystemEvent.Leave, { rooms: plan.leave }).then(() => undefined))
    // Not an async function: the caller's `await` is the only tick between the last reply and
    // `connected`, so a frame right behind the replies finds the client connected.
    return Promise.all(work)
  }

  /** Rooms of a plan that the client left while it ran: the new connection is in them again. */
  stale(plan: RestorePlan): string[] {
    return plan.rejoin.flat().filter((room) => !this.#rooms.has(room))
  }
}
