import type { IncomingHttpHeaders } from 'node:http'
/**
 * Authentication of native connections delegated to an HTTP endpoint of the user's app (as
 * Pusher's auth endpoint is), so that a backend in any language can let typed clients in.
 *
 * The server POSTs JSON `{ stage, headers, query, ip, ... }`:
 * - `stage: 'upgrade'` before the WebSocket opens (headers include the cookies);
 * - `stage: 'authenticate'` when the client sends `authenticate`, with its `data`;
 * - `stage: 'join'` when an authenticated client asks to join rooms, with `userId`, `metadata`
 *   and `rooms`.
 * For the first two the endpoint answers 200 `{ userId?, metadata? }` to accept, 401 or 403 to
 * refuse, and (at the upgrade only) 204 to let the client authenticate in-band. For a join it
 * answers 200 `{ rooms: [...] }` (the allowed subset) or 401/403 (none). Anything else, a body
 * of the wrong shape, or no answer within the timeout refuses and is logged.
 */
import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import type { AnyEvents } from '../../shared/events.js'
import type { Identity, JoinRequest, Refusal } from '../index.js'

export interface NativeAuthSettings {
  endpoint: string
  /** Longest wait for the endpoint, in ms. */
  requestTimeout: number
  /** Request headers passed on (lowercase names). */
  forwardHeaders: readonly string[]
}

export const DEFAULT_FORWARD_HEADERS = ['authorization', 'cookie', 'origin', 'user-agent', 'x-forwarded-for'] as const

type Stage = 'upgrade' | 'authenticate' | 'join'

/** What the endpoint said: an identity, a refusal with its status, or (upgrade only) no verdict yet. */
type Verdict = { kind: 'identity'; identity: Identity } | { kind: 'refused'; status: number } | { kind: 'deferred' }

class EndpointError extends Error {}

function identityOf(body: unknown): Identity {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new EndpointError('the answer is not a JSON object')
  const { userId, metadata } = body as Record<string, unknown>
  if (userId !== undefined && (typeof userId !== 'string' || userId === '')) throw new EndpointError('userId must be a non-empty string')
  if (metadata !== undefined && (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata))) {
    throw new EndpointError('metadata must be an object')
  }
  const identity: Identity = {}
  if (userId !== undefined) identity.userId = userId
  if (metadata !== undefined) identity.metadata = metadata as Record<string, unknown>
  return identity
}

export class NativeAuthEndpoint {
  readonly #settings: NativeAuthSettings
  readonly #log: FastifyBaseLogger

  constructor(settings: NativeAuthSettings, log: FastifyBaseLogger) {
    this.#settings = { ...settings, forwardHeaders: settings.forwardHeaders.map((name) => name.toLowerCase()) }
    this.#log = log
  }

  /** The plugin's `authenticateRequest`: the endpoint's verdict before the upgrade. */
  readonly authenticateRequest = async (request: FastifyRequest): Promise<Identity | undefined | Refusal> => {
    const verdict = await this.#ask('upgrade', request, undefined).catch((err: unknown) => this.#failed(err))
    if (verdict === undefined) return { refuse: true, statusCode: 503, message: 'the authentication endpoint did not answer' }
    if (verdict.kind === 'identity') return verdict.identity
    if (verdict.kind === 'deferred') return undefined
    return { refuse: true, statusCode: verdict.status, message: 'authentication refused' }
  }

  /** The plugin's `authenticate`: the endpoint's verdict on the client's in-band data (null refuses, close 4003). */
  readonly authenticate = async (data: unknown, request: FastifyRequest): Promise<Identity | null> => {
    const verdict = await this.#ask('authenticate', request, data).catch((err: unknown) => this.#failed(err))
    return verdict?.kind === 'identity' ? verdict.identity : null
  }

  /** The plugin's `authorizeJoin`: the rooms the endpoint allows (none when it refuses or fails). */
  readonly authorizeJoin = async ({ connection, rooms }: JoinRequest<AnyEvents>): Promise<string[]> => {
    const asked = { headers: connection.request.headers, query: queryOf(connection.request.url), ip: connection.remoteAddress }
    const answer = await this.#post('join', asked, { userId: connection.userId, metadata: connection.metadata, rooms }).catch((err: unknown) =>
      this.#failed(err),
    )
    if (answer === undefined || answer.status === 401 || answer.status === 403) return []
    const allowed = (answer.body as { rooms?: unknown }).rooms
    if (!Array.isArray(allowed) || !allowed.every((room) => typeof room === 'string')) {
      return this.#failed(new EndpointError('a join answer must be { rooms: string[] }')) ?? []
    }
    // Only rooms that were asked for: the endpoint narrows a request, it never widens it.
    return allowed.filter((room) => rooms.includes(room))
  }

  #failed(err: unknown): undefined {
    this.#log.warn({ err, endpoint: this.#settings.endpoint }, 'roomcast: the native authentication endpoint failed; the connection is refused')
    return undefined
  }

  async #ask(stage: 'upgrade' | 'authenticate', request: FastifyRequest, data: unknown): Promise<Verdict> {
    const asked = { headers: request.headers, query: request.query ?? {}, ip: request.ip }
    const answer = await this.#post(stage, asked, stage === 'authenticate' ? { data } : {})
    if (answer.status === 401 || answer.status === 403) return { kind: 'refused', status: answer.status }
    if (answer.status === 204 && stage === 'upgrade') return { kind: 'deferred' }
    return { kind: 'identity', identity: identityOf(answer.body) }
  }

  /** POSTs one question; resolves with 401/403 as they are, 2xx with the parsed body, and throws for anything else. */
  async #post(stage: Stage, request: AskedRequest, extra: Record<string, unknown>): Promise<{ status: number; body: unknown }> {
    const headers: Record<string, string> = {}
    for (const name of this.#settings.forwardHeaders) {
      const value = request.headers[name]
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value
    }
    const response = await fetch(this.#settings.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ stage, headers, query: request.query, ip: request.ip, ...extra }),
      signal: AbortSignal.timeout(this.#settings.requestTimeout),
    })
    if (response.status === 401 || response.status === 403 || response.status === 204) {
      await response.body?.cancel()
      return { status: response.status, body: {} }
    }
    if (response.status < 200 || response.status > 299) {
      await response.body?.cancel()
      throw new EndpointError(`the endpoint answered ${response.status}`)
    }
    const text = await response.text()
    try {
      return { status: response.status, body: text === '' ? {} : JSON.parse(text) }
    } catch {
      throw new EndpointError('the answer is not JSON')
    }
  }
}

/** What the endpoint is told of the upgrade request: the forwarded headers are picked from `headers`. */
interface AskedRequest {
  headers: IncomingHttpHeaders
  query: unknown
  ip: string
}

/** The query string of a request URL as an object, as Fastify parses it for `request.query`. */
function queryOf(url: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {}
  for (const [name, value] of new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '')) {
    const previous = query[name]
    query[name] = previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [previous, value]
  }
  return query
}
