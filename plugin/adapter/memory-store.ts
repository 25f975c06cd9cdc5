import type { SharedStore } from '../hub/adapter.js'
import { RateWindows, type RateDecision } from '../hub/rate-windows.js'
import { InvalidOptionError } from '../hub/errors.js'

/** Expired values are swept when the map grows past this many since the last sweep. */
const SWEEP_EVERY = 1000

/** Values the in-process store keeps at most, by default (Pusher cache channels, say). */
export const DEFAULT_MAX_ENTRIES = 10_000

/**
 * The shared store of one process: a map with expiry times and in-memory rate windows. It holds
 * at most `maxEntries` values and forgets the least recently used one past that, so keys that
 * peers choose (ever new cache channels) cannot grow memory within a long TTL.
 */
export class MemoryStore implements SharedStore {
  readonly #entries = new Map<string, { value: string; expires: number }>()
  readonly #windows = new RateWindows()
  readonly #maxEntries: number
  #sizeAtSweep = 0

  constructor(maxEntries = DEFAULT_MAX_ENTRIES) {
    if (maxEntries !== Infinity && (!Number.isInteger(maxEntries) || maxEntries <= 0))
      throw new InvalidOptionError('the memory store maxEntries must be a positive integer or Infinity')
    this.#maxEntries = maxEntries
  }

  async get(key: string): Promise<string | undefined> {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    this.#entries.delete(key)
    if (entry.expires <= Date.now()) return undefined
    this.#entries.set(key, entry) // re-inserted: iteration order stays least recently used first
    return entry.value
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.#entries.delete(key)
    this.#entries.set(key, { value, expires: Date.now() + ttlMs })
    if (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value!)
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
