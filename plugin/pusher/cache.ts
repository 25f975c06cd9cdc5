/**
 * Storage for cache channels: the last event published to each, replayed to new subscribers
 * until its TTL runs out. By default in the adapter's shared store (this process with the
 * in-process adapter, Redis with the Redis adapter), so a cache channel replays the same event
 * on every node.
 */
import type { Adapter, SharedStore } from '../hub/adapter.js'
import { RedisStore, type RedisClient } from '../adapter/redis/store.js'
import { InvalidOptionError } from '../hub/errors.js'

/** One cached event: its name and its payload's JSON text (as in a hub delivery). */
export interface CachedEvent {
  event: string
  data?: string
}

export interface ChannelCache {
  get(appId: string, channel: string): Promise<CachedEvent | undefined>
  /** `ttlSeconds` is `Infinity` for an app whose `cacheTtl` is unlimited. */
  set(appId: string, channel: string, event: CachedEvent, ttlSeconds: number): Promise<void>
}

/** Expired entries are swept when the map grows past this many since the last sweep. */
const SWEEP_EVERY = 1000

export interface MemoryChannelCacheOptions {
  /**
   * Most channels kept at once; past it the least recently written or read one is forgotten, so
   * publishers to ever new cache channels cannot grow memory within a TTL. `Infinity` for no
   * bound. Default 10 000.
   */
  maxEntries?: number
}

/**
 * The default: a map with expiry times, expired entries dropped on read and swept on growth,
 * kept in least-recently-used order and bounded by `maxEntries`.
 */
export class MemoryChannelCache implements ChannelCache {
  readonly #entries = new Map<string, { event: CachedEvent; expires: number }>()
  readonly #maxEntries: number
  #sizeAtSweep = 0

  constructor(options: MemoryChannelCacheOptions = {}) {
    const maxEntries = options.maxEntries ?? 10_000
    if (maxEntries !== Infinity && (!Number.isInteger(maxEntries) || maxEntries <= 0)) {
      throw new InvalidOptionError('memoryChannelCache maxEntries must be a positive integer or Infinity')
    }
    this.#maxEntries = maxEntries
  }

  /** Channels held now, expired ones not yet swept included. */
  get size(): number {
    return this.#entries.size
  }

  async get(appId: string, channel: string): Promise<CachedEvent | undefined> {
    const key = cacheKey(appId, channel)
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    this.#entries.delete(key)
    if (entry.expires <= Date.now()) return undefined
    this.#entries.set(key, entry) // re-insert: recently used, last to be evicted
    return entry.event
  }

  async set(appId: string, channel: string, event: CachedEvent, ttlSeconds: number): Promise<void> {
    const key = cacheKey(appId, channel)
    this.#entries.delete(key) // re-insert so iteration order stays least recently used first
    this.#entries.set(key, { event, expires: Date.now() + ttlSeconds * 1000 })
    if (this.#entries.size - this.#sizeAtSweep >= SWEEP_EVERY) this.#sweep()
    if (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value!)
  }

  #sweep(): void {
    const now = Date.now()
    for (const [key, entry] of this.#entries) if (entry.expires <= now) this.#entries.delete(key)
    this.#sizeAtSweep = this.#entries.size
  }
}

export interface RedisChannelCacheOptions {
  /** The application's ioredis client (`Redis` or `Cluster`); used as is, never closed. */
  redis: RedisClient
  /** Key prefix. Default `roomcast:pusher-cache:`. */
  prefix?: string
}

/** Cache channels in an adapter's shared store: one value per channel that expires with the app's TTL. */
export class StoreChannelCache implements ChannelCache {
  readonly #store: SharedStore
  readonly #prefix: string

  constructor(store: SharedStore, prefix: string) {
    this.#store = store
    this.#prefix = prefix
  }

  async get(appId: string, channel: string): Promise<CachedEvent | undefined> {
    const text = await this.#store.get(this.#prefix + cacheKey(appId, channel))
    if (text === undefined) return undefined
    try {
      const value = JSON.parse(text) as CachedEvent
      return typeof value.event === 'string' ? value : undefined
    } catch {
      return undefined
    }
  }

  async set(appId: string, channel: string, event: CachedEvent, ttlSeconds: number): Promise<void> {
    // An unlimited TTL (an app's cacheTtl below zero) keeps the event until the next one replaces it.
    await this.#store.set(this.#prefix + cacheKey(appId, channel), JSON.stringify(event), ttlSeconds * 1000)
  }
}

/** Cache channels shared by every node: one Redis string per channel with `EX` = the app's TTL. */
export class RedisChannelCache extends StoreChannelCache {
  constructor(options: RedisChannelCacheOptions) {
    super(new RedisStore({ redis: options.redis, prefix: options.prefix ?? 'roomcast:pusher-cache:' }), '')
  }
}

/** The default: the adapter's shared store, or this node's memory for an adapter without one. */
export function defaultChannelCache(adapter: Adapter): ChannelCache {
  return adapter.store === undefined ? new MemoryChannelCache() : new StoreChannelCache(adapter.store, 'pusher-cache:')
}

export function memoryChannelCache(options?: MemoryChannelCacheOptions): MemoryChannelCache {
  return new MemoryChannelCache(options)
}

export function redisChannelCache(options: RedisChannelCacheOptions): RedisChannelCache {
  return new RedisChannelCache(options)
}

function cacheKey(appId: string, channel: string): string {
  // Channel names never contain ':', so the app id cannot run into the channel.
  return `${appId}:${channel}`
}
