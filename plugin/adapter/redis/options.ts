import type { RedisClient } from './connection.js'

export interface RedisAdapterOptions {
  /**
   * The application's ioredis client: a `Redis` (single node or Sentinel) or a `Cluster`. It is
   * only a template: the adapter `duplicate()`s it into a publishing and a subscribing
   * connection of its own, and never sends anything through it or closes it.
   */
  redis: RedisClient
  /** Namespace of every channel and key, so several apps can share one Redis. Default `roomcast`. */
  keyPrefix?: string
  /** Longest wait for other nodes' answers to a cluster query, in ms. Default 5000. */
  requestTimeout?: number
  /**
   * Node liveness period in ms. Default 5000. A node refreshes its heartbeat twice per interval
   * and is declared dead 1.5 intervals after its last one; the survivors remove it (and its
   * presence members, with `leave` events) within two intervals of its death.
   */
  heartbeatInterval?: number
  /** How long `attach` waits for Redis at start-up before running on without it, in ms. Default 10 000. */
  connectTimeout?: number
}

export interface ResolvedRedisAdapterOptions {
  redis: RedisClient
  keyPrefix: string
  requestTimeout: number
  heartbeatInterval: number
  connectTimeout: number
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`roomcast: redisAdapter ${name} must be a positive number`)
  return value
}

export function resolveKeyPrefix(keyPrefix: string | undefined): string {
  const prefix = keyPrefix ?? 'roomcast'
  if (typeof prefix !== 'string' || prefix.length === 0) throw new TypeError('roomcast: keyPrefix must be a non-empty string')
  return prefix
}

export function resolveRedisAdapterOptions(options: RedisAdapterOptions): ResolvedRedisAdapterOptions {
  if (options === null || typeof options !== 'object' || options.redis === undefined || options.redis === null) {
    throw new TypeError('roomcast: redisAdapter needs { redis }: an ioredis Redis or Cluster client')
  }
  if (typeof (options.redis as { duplicate?: unknown }).duplicate !== 'function') {
    throw new TypeError('roomcast: redisAdapter { redis } must be an ioredis Redis or Cluster client')
  }
  return {
    redis: options.redis,
    keyPrefix: resolveKeyPrefix(options.keyPrefix),
    requestTimeout: positive('requestTimeout', options.requestTimeout ?? 5_000),
    heartbeatInterval: positive('heartbeatInterval', options.heartbeatInterval ?? 5_000),
    connectTimeout: positive('connectTimeout', options.connectTimeout ?? 10_000),
  }
}
