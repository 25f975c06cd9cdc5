/**
 * Where the Pusher state that every node must agree on lives when the application did not
 * choose: the last event of each cache channel and the HTTP API's rate-limit counters. With
 * the Redis adapter it is Redis, through the adapter's own connection and under its key
 * prefix, so a cache channel replays the same event on every node and a rate limit holds for
 * the cluster; with any other adapter it is this node's memory.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { Adapter } from '../hub/adapter.js'
import { RedisAdapter } from '../adapter/redis/adapter.js'
import { MemoryChannelCache, RedisChannelCache, type ChannelCache } from './cache.js'
import { MemoryRateLimiter, type HttpRateLimiter } from './http/rate-limiter.js'
import { RedisRateLimiter } from './http/redis-rate-limiter.js'

export function defaultChannelCache(adapter: Adapter): ChannelCache {
  if (adapter instanceof RedisAdapter) return new RedisChannelCache({ redis: adapter.commands, prefix: `${adapter.keyPrefix}:pusher-cache:` })
  return new MemoryChannelCache()
}

export function defaultHttpRateLimiter(adapter: Adapter, log: FastifyBaseLogger): HttpRateLimiter {
  if (adapter instanceof RedisAdapter) return new RedisRateLimiter({ redis: adapter.commands, prefix: `${adapter.keyPrefix}:pusher-rate:`, log })
  return new MemoryRateLimiter()
}
