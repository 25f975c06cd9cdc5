import { Type } from '@sinclair/typebox'
import { checkOptions } from '../../hub/option-check.js'
import { delay, nonEmptyString, optionsObject, withMethods } from '../../hub/option-schema.js'
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

/** A client the adapter can duplicate: ioredis `Redis` (single node or Sentinel) and `Cluster` both can. */
export const RedisClientSchema = withMethods<RedisClient>(['duplicate'], 'an ioredis Redis or Cluster client')

export const RedisAdapterOptionsSchema = optionsObject(
  {
    redis: RedisClientSchema,
    keyPrefix: Type.Optional(nonEmptyString()),
    requestTimeout: Type.Optional(delay()),
    heartbeatInterval: Type.Optional(delay()),
    connectTimeout: Type.Optional(delay()),
  },
  'an object { redis, keyPrefix, requestTimeout, heartbeatInterval, connectTimeout }',
)

export function resolveRedisAdapterOptions(options: RedisAdapterOptions): ResolvedRedisAdapterOptions {
  checkOptions(RedisAdapterOptionsSchema, options, 'redisAdapter')
  return {
    redis: options.redis,
    keyPrefix: options.keyPrefix ?? 'roomcast',
    requestTimeout: options.requestTimeout ?? 5_000,
    heartbeatInterval: options.heartbeatInterval ?? 5_000,
    connectTimeout: options.connectTimeout ?? 10_000,
  }
}
