/**
 * The shared store on Redis: values are Redis strings with an expiry, rate counters are one
 * Redis counter per key that expires with its window, checked and incremented atomically by a
 * script. The Redis adapter offers one on its own command connection under its key prefix;
 * Pusher's `redisChannelCache` and `redisRateLimiter` build one on a client of the app's own.
 *
 * While Redis cannot be reached, counters are counted on this node alone (a warning is logged
 * once per outage): refusing every request because the counter is away would turn a Redis
 * outage into an API outage, while local delivery still works.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { SharedStore } from '../../hub/adapter.js'
import { RateWindows, type RateDecision } from '../../hub/rate-windows.js'
import type { RedisClient } from './client.js'
import { LuaScript } from './lua.js'

export type { RedisClient }

/**
 * KEYS[1] the counter; ARGV points, limit, window in ms. Returns {allowed, used, ms left}. A
 * refused request takes nothing; the window starts with the first request counted.
 */
const CONSUME = new LuaScript(`
local points = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('PTTL', KEYS[1])
if used + points > limit then return {0, used, ttl} end
used = redis.call('INCRBY', KEYS[1], points)
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  ttl = tonumber(ARGV[3])
end
return {1, used, ttl}
`)

export interface RedisStoreOptions {
  /** An ioredis client (`Redis` or `Cluster`); used as is, never closed. */
  redis: RedisClient
  /** Put before every key. */
  prefix: string
  /** Where the outage warning goes, looked up when it is needed. */
  log?: () => FastifyBaseLogger | undefined
}

export class RedisStore implements SharedStore {
  /** Only GET, SET and EVAL/EVALSHA of one key, whose replies are the same in every ioredis reply mapping. */
  readonly #redis: RedisClient
  readonly #prefix: string
  readonly #log: () => FastifyBaseLogger | undefined
  readonly #fallback = new RateWindows()
  #unreachable = false

  constructor(options: RedisStoreOptions) {
    this.#redis = options.redis
    this.#prefix = options.prefix
    this.#log = options.log ?? (() => undefined)
  }

  async get(key: string): Promise<string | undefined> {
    const text = (await this.#redis.get(this.#prefix + key)) as string | null
    return text ?? undefined
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    const redis = this.#redis
    // An unlimited TTL keeps the value until the next one replaces it.
    if (ttlMs === Infinity) await redis.set(this.#prefix + key, value)
    else await redis.set(this.#prefix + key, value, 'EX', Math.max(1, Math.ceil(ttlMs / 1000)))
  }

  async consume(key: string, points: number, limit: number, windowMs: number): Promise<RateDecision> {
    let reply: unknown
    try {
      reply = await CONSUME.run(this.#redis, [this.#prefix + key], [points, limit, windowMs])
    } catch (err) {
      if (!this.#unreachable) {
        this.#unreachable = true
        this.#log()?.warn({ err }, 'roomcast: rate limits cannot reach Redis; counting on this node alone until it is back')
      }
      return this.#fallback.consume(key, points, limit, windowMs)
    }
    if (this.#unreachable) {
      this.#unreachable = false
      this.#log()?.info('roomcast: rate limits are counted in Redis again')
    }
    const [allowed, used, ttl] = (reply as [number, number, number]).map(Number) as [number, number, number]
    return { allowed: allowed === 1, remaining: Math.max(0, limit - used), resetMs: ttl > 0 ? ttl : windowMs }
  }
}
