import type { AuthData, EventsDefinition } from '../shared/events.js'
import type { BackoffOptions } from './backoff.js'
import type { WebSocketConstructor } from './socket.js'
import type { ClientTransformFactory } from './transform.js'

/** What the `auth` function learns about the attempt it is called for. */
export interface AuthContext {
  /** 0 for the first connection, then 1, 2, … for each later attempt. */
  attempt: number
}

/** Returns the credentials for one connection attempt (a fresh token, say), or a promise of them. */
export type AuthProvider<T = unknown> = (context: AuthContext) => T | PromiseLike<T>

/**
 * The `auth` option: the credentials, or a function returning them. Typed by the events' `auth`
 * schema when they declare one; otherwise any object or string.
 */
export type AuthOption<E extends EventsDefinition> = undefined extends E['auth'] ? AuthProvider | object | string : AuthData<E> | AuthProvider<AuthData<E>>

export interface ReconnectOptions extends BackoffOptions {
  /** Failed attempts in a row after which the client gives up (`disconnected`). Default: never. */
  maxAttempts: number
}

export interface RoomcastClientOptions<E extends EventsDefinition = EventsDefinition> {
  /** The WebSocket constructor. Default `globalThis.WebSocket`; in Node pass `ws`'s default export. */
  WebSocket?: WebSocketConstructor
  /** The event definitions (`defineEvents`), needed to validate messages at run time. */
  events?: E
  /**
   * Credentials sent in `authenticate` after each socket opens: the data itself, or a function
   * (sync or async) called before every connection attempt so tokens can be refreshed. Without
   * it the client sends no `authenticate` and waits for the server's `connected` (servers that
   * authenticate the upgrade request, or need no authentication). When the events declare an
   * `auth` schema, the credentials are typed by it and checked before they are sent.
   */
  auth?: AuthOption<E>
  /** Reconnection with exponential backoff and full jitter; `false` to never reconnect. */
  reconnect?: Partial<ReconnectOptions> | false
  /** Time from starting an attempt to being connected (socket, handshake, auth, rooms restored), in ms. Default 10 000. */
  connectTimeout?: number
  /** Default timeout of `request()`, `join()` and `leave()`, in ms. Default 10 000. */
  requestTimeout?: number
  /**
   * Grace on top of the heartbeat interval the server announces: when nothing at all arrives
   * for interval + grace, the server is taken for dead and the client reconnects. In ms,
   * default 10 000; `false` disables the check.
   */
  heartbeatGrace?: number | false
  /**
   * Messages (`emit`, `request`, `join`) made while not connected wait in a queue of this
   * size and go out in order after the next connection. When the queue is full, or the size is
   * 0, such a message is refused at once: `emit` throws and the others reject with `not_sent`.
   * Default 100.
   */
  queue?: number
  /** Check outgoing `data` (and incoming payloads) against the event schemas. Default true; needs `events`. */
  validate?: boolean
  /** Per-connection frame transform (client-to-server encryption). */
  transform?: ClientTransformFactory
  /** Connect right away. Default true; otherwise call `connect()`. */
  autoConnect?: boolean
  /** Follow the browser's online/offline events: wait while offline, retry at once when back. Default true. */
  networkHints?: boolean
}

export interface ResolvedClientOptions<E extends EventsDefinition> {
  WebSocket: WebSocketConstructor
  events: E | undefined
  auth: AuthProvider | undefined
  reconnect: ReconnectOptions | false
  connectTimeout: number
  requestTimeout: number
  heartbeatGrace: number | false
  queue: number
  validate: boolean
  transform: ClientTransformFactory | undefined
  autoConnect: boolean
  networkHints: boolean
}

export const clientDefaults = {
  reconnect: { minDelay: 500, maxDelay: 20_000, factor: 2, maxAttempts: Infinity },
  connectTimeout: 10_000,
  requestTimeout: 10_000,
  heartbeatGrace: 10_000,
  queue: 100,
} as const

function positive(name: string, value: number): number {
  if (typeof value !== 'number' || !(value > 0)) throw new TypeError(`roomcast client: ${name} must be a positive number`)
  return value
}

function atLeastZero(name: string, value: number): number {
  if (typeof value !== 'number' || !(value >= 0)) throw new TypeError(`roomcast client: ${name} must be 0 or more`)
  return value
}

export function resolveClientOptions<E extends EventsDefinition>(options: RoomcastClientOptions<E>): ResolvedClientOptions<E> {
  const WebSocket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
  if (WebSocket === undefined) {
    throw new TypeError('roomcast client: no WebSocket available; pass one as the WebSocket option (in Node: `import WebSocket from "ws"`)')
  }
  const auth = options.auth
  let reconnect: ReconnectOptions | false = false
  if (options.reconnect !== false) {
    const given = options.reconnect ?? {}
    reconnect = {
      minDelay: positive('reconnect.minDelay', given.minDelay ?? clientDefaults.reconnect.minDelay),
      maxDelay: positive('reconnect.maxDelay', given.maxDelay ?? clientDefaults.reconnect.maxDelay),
      factor: positive('reconnect.factor', given.factor ?? clientDefaults.reconnect.factor),
      maxAttempts: positive('reconnect.maxAttempts', given.maxAttempts ?? clientDefaults.reconnect.maxAttempts),
    }
    if (reconnect.factor < 1) throw new TypeError('roomcast client: reconnect.factor must be 1 or more')
    if (reconnect.maxDelay < reconnect.minDelay) throw new TypeError('roomcast client: reconnect.maxDelay must not be below minDelay')
  }
  const grace = options.heartbeatGrace ?? clientDefaults.heartbeatGrace
  return {
    WebSocket,
    events: options.events,
    auth: auth === undefined ? undefined : typeof auth === 'function' ? (auth as AuthProvider) : () => auth,
    reconnect,
    connectTimeout: positive('connectTimeout', options.connectTimeout ?? clientDefaults.connectTimeout),
    requestTimeout: positive('requestTimeout', options.requestTimeout ?? clientDefaults.requestTimeout),
    heartbeatGrace: grace === false ? false : atLeastZero('heartbeatGrace', grace),
    queue: atLeastZero('queue', options.queue ?? clientDefaults.queue),
    validate: options.validate ?? true,
    transform: options.transform,
    autoConnect: options.autoConnect ?? true,
    networkHints: options.networkHints ?? true,
  }
}

/**
 * The socket URL: absolute `ws(s)://` or `http(s)://` as given, or, in a page, a path
 * resolved against the page's address (`/ws` → `wss://host/ws` on an https page).
 */
export function resolveUrl(url: string | URL): string {
  const base = (globalThis as { location?: { href?: string } }).location?.href
  let parsed: URL
  try {
    parsed = new URL(url, base)
  } catch {
    throw new TypeError(`roomcast client: "${String(url)}" is not a valid URL`)
  }
  if (parsed.protocol === 'http:') parsed.protocol = 'ws:'
  else if (parsed.protocol === 'https:') parsed.protocol = 'wss:'
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    throw new TypeError(`roomcast client: the URL must use ws:, wss:, http: or https:, not ${parsed.protocol}`)
  }
  return parsed.href
}

/** `url` with the given query parameters set (what a transform announces). */
export function withQuery(url: string, query: Readonly<Record<string, string>> | undefined): string {
  if (query === undefined) return url
  const parsed = new URL(url)
  for (const [name, value] of Object.entries(query)) parsed.searchParams.set(name, value)
  return parsed.href
}
