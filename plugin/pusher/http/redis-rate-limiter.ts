/**
 * HTTP API rate limits counted in Redis, so that a limit holds for the whole cluster rather
 * than for each node (the default with the Redis adapter). Same windows as
 * `MemoryRateLimiter`: one second from the first counted request, kept as one Redis counter
 * per key that expires with its window, checked and incremented atomically by a script.
 *
 * While Redis cannot be reached the limits are counted on this node alone (a warning is
 * logged once per outage): refusing every publish because the counter is away would turn a
 * Redis outage into an API outage, while local delivery still works.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { BusConnection, RedisClient } from '../../adapter/redis/connection.js'
import { LuaScript } from '../../adapter/redis/lua.js'
import { MemoryRateLimiter, resolveWindow, type HttpRateLimiter, type RateDecision, type RateLimiterOptions } from './rate-limiter.js'

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

export interface RedisRateLimiterOptions extends RateLimiterOptions {
  /** An ioredis client (`Redis` or `Cluster`) to count on; used as is, never closed. The Redis adapter's own connection by default. */
  redis: RedisClient
  /** Key prefix. Default `roomcast:pusher-rate:`. */
  prefix?: string
  /** Where the outage warning goes. */
  log?: FastifyBaseLogger
}

export class RedisRateLimiter implements HttpRateLimiter {
  readonly #redis: BusConnection
  readonly #prefix: string
  readonly #log: FastifyBaseLogger | undefined
  readonly #windowMs: number
  readonly #fallback: MemoryRateLimiter
  #unreachable = false

  constructor(options: RedisRateLimiterOptions) {
    // Only EVAL/EVALSHA of one key, whose replies are the same in every ioredis reply mapping.
    this.#redis = options.redis as BusConnection
    this.#prefix = options.prefix ?? 'roomcast:pusher-rate:'
    this.#log = options.log
    this.#windowMs = resolveWindow(options)
    this.#fallback = new MemoryRateLimiter({ windowMs: this.#windowMs })
  }

  async consume(key: string, points: number, limit: number): Promise<RateDecision> {
    let reply: unknown
    try {
      reply = await CONSUME.run(this.#redis, [this.#prefix + key], [points, limit, this.#windowMs])
    } catch (err) {
      if (!this.#unreachable) {
        this.#unreachable = true
        this.#log?.warn({ err }, 'roomcast: pusher HTTP rate limits cannot reach Redis; counting on this node alone until it is back')
      }
      return this.#fallback.consume(key, points, limit)
    }
    if (this.#unreachable) {
      this.#unreachable = false
      this.#log?.info('roomcast: pusher HTTP rate limits are counted in Redis again')
    }
    const [allowed, used, ttl] = (reply as [number, number, number]).map(Number) as [number, number, number]
    return { allowed: allowed === 1, remaining: Math.max(0, limit - used), resetMs: ttl > 0 ? ttl : this.#windowMs }
  }
}

export function redisRateLimiter(options: RedisRateLimiterOptions): RedisRateLimiter {
  return new RedisRateLimiter(options)
}
