/**
 * CORS for the Pusher HTTP API routes. Requests are authorized by their signature, never by
 * cookies, so any origin may call by default (as on soketi); a list or a predicate narrows it.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'

export interface CorsOptions {
  /** Origins allowed: `'*'` (default), a list of origins, or a predicate. */
  origin?: '*' | readonly string[] | ((origin: string) => boolean)
  /** Request headers a browser may send. Default: the ones the SDKs and browsers use. */
  allowedHeaders?: readonly string[]
  /** How long browsers may cache a preflight answer, in seconds. Default 600. */
  maxAge?: number
  /** Send `Access-Control-Allow-Credentials: true` (the origin is then echoed, never `*`). Default false. */
  credentials?: boolean
}

const ALLOWED_HEADERS = ['Content-Type', 'Accept', 'Authorization', 'X-Requested-With', 'X-Pusher-Library', 'X-Socket-Id']
/** Response headers a browser script may read: the rate-limit state. */
const EXPOSED_HEADERS = 'X-RateLimit-Limit, X-RateLimit-Remaining, Retry-After'
const METHODS = 'GET, POST, OPTIONS'

export interface Cors {
  /** Adds the CORS headers to an answer; true when the request was a preflight, already answered. */
  handle(request: FastifyRequest, reply: FastifyReply): boolean
}

export function cors(options: CorsOptions = {}): Cors {
  const origin = options.origin ?? '*'
  const anyOrigin = origin === '*' && options.credentials !== true
  const allows = (value: string): boolean => (origin === '*' ? true : typeof origin === 'function' ? origin(value) : origin.includes(value))
  const allowedHeaders = (options.allowedHeaders ?? ALLOWED_HEADERS).join(', ')
  const maxAge = String(options.maxAge ?? 600)
  return {
    handle(request, reply) {
      const requestOrigin = request.headers.origin
      if (anyOrigin) {
        reply.header('access-control-allow-origin', '*')
      } else {
        reply.header('vary', 'Origin')
        if (requestOrigin === undefined || !allows(requestOrigin)) return false
        reply.header('access-control-allow-origin', requestOrigin)
        if (options.credentials === true) reply.header('access-control-allow-credentials', 'true')
      }
      reply.header('access-control-expose-headers', EXPOSED_HEADERS)
      if (request.method !== 'OPTIONS' || request.headers['access-control-request-method'] === undefined) return false
      reply.header('access-control-allow-methods', METHODS).header('access-control-allow-headers', allowedHeaders).header('access-control-max-age', maxAge)
      return true
    },
  }
}
