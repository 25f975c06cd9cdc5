/** Ids per generation before it is retired early (bounds memory under heavy multi-channel traffic). */
const GENERATION_LIMIT = 50_000

/**
 * Messages published on several channels (a delivery to two rooms, say) reach a node once per
 * channel it listens to; it must act on the first copy only. All copies are published together,
 * so they arrive within moments of each other: remembering ids for one or two generations
 * (rotated on every heartbeat, or sooner when a generation fills up) is enough, in bounded memory.
 */
export class RecentMessages {
  #current = new Set<string>()
  #previous = new Set<string>()

  /** True the first time an id is seen; false for every later copy. */
  firstSighting(id: string): boolean {
    if (this.#current.has(id) || this.#previous.has(id)) return false
    if (this.#current.size >= GENERATION_LIMIT) this.rotate()
    this.#current.add(id)
    return true
  }

  rotate(): void {
    this.#previous = this.#current
    this.#current = new Set()
  }
}
