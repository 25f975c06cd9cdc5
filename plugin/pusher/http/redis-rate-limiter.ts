/**
 * HTTP API rate limits counted in Redis, so that a limit holds for the whole cluster rather
 * than for each node, on a Redis client of the application's choice (by default the limits
 * count in the adapter's shared store, which is Redis with the Redis adapter). Same windows as
 * `MemoryRateLimiter`: one second from the first counted request, kept as one Redis counter
 * per key that expires with its window, checked and incremented atomically by a script.
 *
 * While Redis cannot be reached the limits are counted on this node alone (a warning is
 * logged once per outage): refusing every publish because the counter is away would turn a
 * Redis outage into an API outage, while local delivery still works.
 */
import type { FastifyBaseLogger } from 'fastify'
import { RedisStore, type RedisClient } from '../../adapter/redis/store.js'
import { StoreRateLimiter, type RateLimiterOptions } from './rate-limiter.js'

export interface RedisRateLimiterOptions extends RateLimiterOptions {
  /** An ioredis client (`Redis` or `Cluster`) to count on; used as is, never closed. The Redis adapter's own connection by default. */
  redis: RedisClient
  /** Key prefix. Default `roomcast:pusher-rate:`. */
  prefix?: string
  /** Where the outage warning goes. */
  log?: FastifyBaseLogger
}

export class RedisRateLimiter extends StoreRateLimiter {
  constructor(options: RedisRateLimiterOptions) {
    super(new RedisStore({ redis: options.redis, prefix: options.prefix ?? 'roomcast:pusher-rate:', log: () => options.log }), '', options)
  }
}

export function redisRateLimiter(options: RedisRateLimiterOptions): RedisRateLimiter {
  return new RedisRateLimiter(options)
}
