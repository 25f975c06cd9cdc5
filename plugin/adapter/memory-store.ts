import type { SharedStore } from '../hub/adapter.js'
import { RateWindows, type RateDecision } from '../hub/rate-windows.js'

/** Expired values are swept when the map grows past this many since the last sweep. */
const SWEEP_EVERY = 1000

/** The shared store of one process: a map with expiry times and in-memory rate windows. */
export class MemoryStore implements SharedStore {
  readonly #entries = new Map<string, { value: string; expires: number }>()
  readonly #windows = new RateWindows()
  #sizeAtSweep = 0

  async get(key: string): Promise<string | undefined> {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    if (entry.expires <= Date.now()) {
      this.#entries.delete(key)
      return undefined
    }
    return entry.value
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.#entries.delete(key) // re-insert so iteration order stays oldest-first
    this.#entries.set(key, { value, expires: Date.now() + ttlMs })
    if (this.#entries.size - this.#sizeAtSweep >= SWEEP_EVERY) this.#sweep()
  }

  async consume(key: string, points: number, limit: number, windowMs: number): Promise<RateDecision> {
    return this.#windows.consume(key, points, limit, windowMs)
  }

  #sweep(): void {
    const now = Date.now()
    for (const [key, entry] of this.#entries) if (entry.expires <= now) this.#entries.delete(key)
    this.#sizeAtSweep = this.#entries.size
  }
}
