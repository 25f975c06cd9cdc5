/**
 * What roomcast needs of an application's Redis client, written out member by member instead
 * of importing ioredis's classes: the published declarations then compile in an application
 * that does not install ioredis (it is an optional peer), without `skipLibCheck`. An ioredis
 * `Redis` (single node or Sentinel) or `Cluster`, in either reply mapping, has every member
 * (a type test keeps it so); the adapter and the Emitter also check at run time that the value
 * has `duplicate()`.
 *
 * Only these members are called on the application's own client: `duplicate` (the adapter opens
 * its connections from it), `isCluster` and `options.keyPrefix` (how to publish and whether the
 * client's own prefix would get in the way), `status`, and the commands the Emitter,
 * `redisChannelCache` and `redisRateLimiter` send through it.
 */
export interface RedisClient {
  /** True for an ioredis `Cluster`: roomcast then uses sharded pub/sub (SPUBLISH, SSUBSCRIBE). */
  readonly isCluster: boolean
  /** The connection state; `'ready'` when commands go out at once. */
  readonly status: string
  /** The client's options; only `keyPrefix` is read. */
  readonly options: { readonly keyPrefix?: string | undefined }
  /** A new client with the same addresses, credentials and TLS, and the overrides given. */
  duplicate(...overrides: never[]): unknown
  publish(channel: string, message: string): Promise<unknown>
  spublish(channel: string, message: string): Promise<unknown>
  get(key: string): Promise<unknown>
  set(key: string, value: string): Promise<unknown>
  set(key: string, value: string, secondsToken: 'EX', seconds: number): Promise<unknown>
  evalsha(sha1: string, numberOfKeys: number, ...keysAndArgs: Array<string | number>): Promise<unknown>
  eval(script: string, numberOfKeys: number, ...keysAndArgs: Array<string | number>): Promise<unknown>
}
