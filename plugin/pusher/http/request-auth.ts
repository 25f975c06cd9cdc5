/**
 * Pusher's request signing, checked as Pusher checks it: `auth_key`, `auth_timestamp` within
 * ±600 s of the server clock, `auth_version` 1.0, `body_md5` of the exact body bytes, and
 * `auth_signature` = hex HMAC-SHA256(secret, "METHOD\nPATH\nQUERY") where QUERY is every other
 * parameter, keys lower-cased and sorted, joined as `key=value` with `&`, values not encoded.
 * Signatures are compared in constant time. Every failure is a 401 that says what to fix.
 */
import { hash } from 'node:crypto'
import type { PusherApp } from '../apps.js'
import { hmacSha256Hex, safeEqual } from '../signatures.js'
import { badRequest, unauthorized } from './errors.js'

/** How far `auth_timestamp` may be from the server clock, in seconds (Pusher's window). */
export const TIMESTAMP_WINDOW_SECONDS = 600

const REQUIRED = ['auth_key', 'auth_timestamp', 'auth_version', 'auth_signature'] as const

export interface SignedRequest {
  method: string
  /**
   * Paths the signature may cover, the path as received first. Behind a proxy that adds the
   * route prefix, or with characters a client percent-encoded, the SDK signed another form.
   */
  paths: readonly string[]
  /** The query string as received, without `?`. */
  query: string
  /** The raw body; undefined or empty when there is none. */
  body: Buffer | undefined
}

/** One-shot: a third of the cost of a Hash object for the small bodies the API gets, on every publish. */
export function md5Hex(bytes: Buffer | string): string {
  return hash('md5', bytes, 'hex')
}

/** The query part of what a signature covers: every parameter but the signature, sorted by key. */
function signedQuery(params: ReadonlyMap<string, string>): string {
  const keys: string[] = []
  for (const key of params.keys()) if (key !== 'auth_signature') keys.push(key)
  // The default sort orders by UTF-16 code units, as `<` does: Pusher's order, without a comparator call per pair.
  keys.sort()
  let query = ''
  for (const key of keys) query += `${query === '' ? '' : '&'}${key}=${params.get(key)}`
  return query
}

/** The text a request's signature covers, for one of its paths. */
export function stringToSign(method: string, path: string, params: ReadonlyMap<string, string>): string {
  return signedText(method, path, signedQuery(params))
}

function signedText(method: string, path: string, query: string): string {
  return `${method.toUpperCase()}\n${path}\n${query}`
}

/** The query parameters, keys lower-cased; a repeated parameter is a 400 (which one would be signed?). */
export function queryParams(query: string): Map<string, string> {
  const params = new Map<string, string>()
  for (const [rawKey, value] of pairsOf(query)) {
    const key = rawKey.toLowerCase()
    if (params.has(key)) throw badRequest(`The query parameter ${key} is given more than once.`)
    params.set(key, value)
  }
  return params
}

/**
 * A query string's pairs as `URLSearchParams` reads them. The SDKs' queries have nothing to
 * decode (no `%`, no `+`), and for those a split gives the same pairs without building a
 * `URLSearchParams`, a measurable share of every publish; anything else goes through it.
 */
function pairsOf(query: string): Iterable<[string, string]> {
  if (query.includes('%') || query.includes('+')) return new URLSearchParams(query)
  const pairs: Array<[string, string]> = []
  // As URLSearchParams: one leading "?" is dropped, empty pieces are skipped, a piece without "=" has the value "".
  for (const piece of (query.startsWith('?') ? query.slice(1) : query).split('&')) {
    if (piece === '') continue
    const at = piece.indexOf('=')
    pairs.push(at < 0 ? [piece, ''] : [piece.slice(0, at), piece.slice(at + 1)])
  }
  return pairs
}

/** Throws a 401 `PusherHttpError` unless the request is signed with the app's key and secret. */
export function verifySignedRequest(app: PusherApp, request: SignedRequest, nowMs: number = Date.now()): void {
  const params = queryParams(request.query)
  for (const name of REQUIRED) {
    if (!params.get(name)) throw unauthorized(`Missing the ${name} query parameter.`)
  }
  if (!safeEqual(params.get('auth_key')!, app.key)) throw unauthorized('The auth_key does not belong to this app.')
  if (params.get('auth_version') !== '1.0') throw unauthorized('The auth_version must be 1.0.')

  const timestamp = params.get('auth_timestamp')!
  const now = Math.floor(nowMs / 1000)
  if (!/^\d{1,15}$/.test(timestamp) || Math.abs(now - Number(timestamp)) > TIMESTAMP_WINDOW_SECONDS) {
    throw unauthorized(`Timestamp expired: the auth_timestamp (${timestamp}) is not within ${TIMESTAMP_WINDOW_SECONDS} s of the server time (${now}).`)
  }

  const body = request.body ?? Buffer.alloc(0)
  const bodyMd5 = params.get('body_md5')
  if (body.length > 0 && bodyMd5 === undefined) throw unauthorized('Missing the body_md5 query parameter (the MD5 of the body, hex).')
  if (bodyMd5 !== undefined && !safeEqual(bodyMd5, md5Hex(body))) throw unauthorized('The body_md5 does not match the MD5 of the body.')

  const signature = params.get('auth_signature')!
  const query = signedQuery(params)
  let matched = false
  for (const path of request.paths) {
    // Every candidate is checked (no early exit), each in constant time.
    if (safeEqual(signature, hmacSha256Hex(app.secret, signedText(request.method, path, query)))) matched = true
  }
  if (!matched) {
    throw unauthorized(
      `Invalid signature: expected the HMAC SHA256 hex digest of ${JSON.stringify(stringToSign(request.method, request.paths[0] ?? '/', params))}.`,
    )
  }
}
