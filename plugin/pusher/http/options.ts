import type { CorsOptions } from './cors.js'
import type { HttpRateLimiter } from './rate-limiter.js'

/** The `pusher.http` option: the Pusher HTTP API (`[pathPrefix]/apps/:appId/...`) and its health route. */
export interface PusherHttpOptions {
  /** Largest request body, in bytes; a larger request gets 413. Default 1 MiB. */
  bodyLimit?: number
  /** CORS headers on the API routes and answers to preflights; false for none. Default: any origin. */
  cors?: CorsOptions | false
  /** Path of the health route (200 while accepting connections, 503 while draining or closing); false for none. Default `[pathPrefix]/pusher/health`. */
  healthPath?: string | false
  /**
   * Where rate-limit windows are counted. Default: in Redis with the Redis adapter (limits hold
   * for the cluster), else in this node's memory.
   */
  rateLimiter?: HttpRateLimiter
}

export interface ResolvedPusherHttpOptions {
  bodyLimit: number
  cors: CorsOptions | false
  healthPath: string | false
  /** Undefined: the default for the adapter (see `shared-state.ts`). */
  rateLimiter: HttpRateLimiter | undefined
}

/** Fills in the defaults of options checked against `PusherHttpSchema` (at registration, with all the plugin's options). */
export function resolvePusherHttpOptions(options: PusherHttpOptions, pathPrefix: string): ResolvedPusherHttpOptions {
  const bodyLimit = options.bodyLimit ?? 1024 * 1024
  const healthPath = options.healthPath ?? `${pathPrefix}/pusher/health`
  return { bodyLimit, cors: options.cors ?? {}, healthPath, rateLimiter: options.rateLimiter }
}
