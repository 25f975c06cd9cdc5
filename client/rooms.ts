import { ErrorCode } from '../shared/codes.js'
import type { JoinReply } from '../shared/envelope.js'
import { RoomcastError } from '../shared/errors.js'
import { SystemEvent } from '../shared/system-events.js'

/** Rooms per `join` request, the server's limit. */
const ROOMS_PER_REQUEST = 100

/** How to put a new connection back in the client's rooms. */
export interface RestorePlan {
  /** Rooms to join again, in requests of at most the server's limit each. */
  rejoin: string[][]
  /** Rooms the server put the connection in on its own that the client had left on purpose. */
  leave: string[]
}

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

  get list(): string[] {
    return [...this.#rooms]
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
    for (const room of rooms) this.#rooms.delete(room)
  }

  /** The client leaves these rooms on purpose; returns the ones it was in. */
  leave(rooms: readonly string[]): string[] {
    const left = rooms.filter((room) => this.#rooms.has(room))
    for (const room of rooms) {
      this.#rooms.delete(room)
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
    return { rejoin, leave }
  }

  /**
   * Runs a plan over `request` (a request on the new connection). A room the server refuses is
   * forgotten and `report`ed. Rejects with the first timeout or disconnect: the connection is
   * gone or stalled, and nothing can be concluded about its rooms.
   */
  carryOut(plan: RestorePlan, request: (event: string, data: unknown) => Promise<unknown>, report: (error: RoomcastError) => void): Promise<unknown> {
    const refuse = (room: string, error: RoomcastError): void => {
      this.removed([room])
      report(error)
    }
    const work = plan.rejoin.map((chunk) =>
      request(SystemEvent.Join, { rooms: chunk }).then(
        (reply) => {
          for (const room of (reply as JoinReply).refused ?? []) refuse(room, new RoomcastError(ErrorCode.JoinRefused, `not allowed back into ${room}`))
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
