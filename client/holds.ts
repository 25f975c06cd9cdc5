import type { Envelope } from '../shared/envelope.js'

interface Hold {
  /** Live deliveries to the room that arrived while the gap was being read, in arrival order. */
  readonly held: Envelope[]
  /** A further gap reported while this one was being filled: read again from this offset. */
  again: number | undefined
}

/**
 * Rooms whose stream the client is filling from history. Live deliveries to such a room are
 * held back until the missed publications before them have been delivered, so that the
 * application sees the room's messages in order, each once.
 */
export class StreamHolds {
  readonly #holds = new Map<string, Hold>()

  /** Starts holding a room's deliveries back; false when it is held already (a fill is under way). */
  start(room: string): boolean {
    if (this.#holds.has(room)) return false
    this.#holds.set(room, { held: [], again: undefined })
    return true
  }

  /** Holds a delivery back when its room is being filled; false when it can go on. */
  hold(room: string, envelope: Envelope): boolean {
    const hold = this.#holds.get(room)
    if (hold === undefined) return false
    hold.held.push(envelope)
    return true
  }

  /** Another gap in a room being filled: publications after `offset` must be read again. */
  widen(room: string, offset: number): void {
    const hold = this.#holds.get(room)
    if (hold !== undefined) hold.again = hold.again === undefined ? offset : Math.min(hold.again, offset)
  }

  /** The offset to read again from, once (see `widen`). */
  takeAgain(room: string): number | undefined {
    const hold = this.#holds.get(room)
    const again = hold?.again
    if (hold !== undefined) hold.again = undefined
    return again
  }

  /** Stops holding a room back; returns what was held, oldest first. */
  end(room: string): Envelope[] {
    const hold = this.#holds.get(room)
    this.#holds.delete(room)
    return hold?.held ?? []
  }
}
