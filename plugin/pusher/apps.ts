/**
 * Pusher apps: the credentials and limits of each, and how to find one by key (WebSocket
 * path), by id (HTTP API path) or by hub room (hooks and webhooks).
 */
import type { FastifyBaseLogger } from 'fastify'
import { withHookTimeout } from '../hub/hook-timeout.js'
import { appRoomPrefix, parsePusherRoom } from './channels.js'
import type { WebhookConfig } from './webhooks/config.js'
import { InvalidOptionError } from '../hub/errors.js'

/**
 * One Pusher app as configured. Limits default to Pusher's published ones. Every numeric limit
 * (and `cacheTtl`) set below zero means "unlimited", as in soketi's app records: `-1` turns a
 * limit off wherever it is used.
 */
export interface PusherAppConfig {
  id: string
  key: string
  secret: string
  /** A disabled app refuses connections with 4003. Default true. */
  enabled?: boolean
  /** Allow `client-` events on private and presence channels. Default false. */
  enableClientMessages?: boolean
  /** Require `pusher:signin` (or a private/presence subscription) within `userAuthenticationTimeout`, else close 4009. Default false. */
  enableUserAuthentication?: boolean
  /** Concurrent connections across the cluster; past it new ones are closed with 4004. Default: unlimited. */
  maxConnections?: number
  /** Distinct users per presence channel. Default 100. */
  maxPresenceMembers?: number
  /** Largest `user_info` (as JSON) of a presence member, in KiB. Default 1 (Pusher's limit). */
  maxPresenceMemberSizeKb?: number
  /** Client events a connection may send per second. Default 10 (Pusher's limit). */
  maxClientEventsPerSecond?: number
  /** Largest event payload (client events here, published events in the HTTP API), in KiB. Default 10. */
  maxEventPayloadKb?: number
  /** Longest event name. Default 200. */
  maxEventNameLength?: number
  /** Longest channel name, prefix included. Default 164 (Pusher's limit). */
  maxChannelNameLength?: number
  /** Channels per published event (HTTP API). Default 100. */
  maxEventChannelsAtOnce?: number
  /** Events per batch publish (HTTP API). Default 10. */
  maxEventBatchSize?: number
  /** How long a cache channel keeps its last event, in seconds. Default 3600. */
  cacheTtl?: number
  /** Webhook endpoints: where channel, presence, client-event, cache-miss and subscription-count events are POSTed. */
  webhooks?: readonly WebhookConfig[]
  /**
   * Send `pusher_internal:subscription_count` to the subscribers of non-presence channels when
   * their number changes, and `subscription_count` webhooks. Default false (as on Pusher).
   */
  enableSubscriptionCount?: boolean
  /** HTTP API: channels published to per second (an event to 3 channels counts 3), per node. Default: unlimited. */
  maxBackendEventsPerSecond?: number
  /** HTTP API: read requests (`GET /channels...`) per second, per node. Default: unlimited. */
  maxReadRequestsPerSecond?: number
}

/**
 * An app with every default applied. `config` is the record as given, for settings other
 * modules read. An unlimited limit (configured below zero) is `Infinity` here, so every
 * comparison with it passes, except `maxConnections`, which is then -1 (checking a quota costs
 * a cluster query per connection, made only when there is one).
 */
export interface PusherApp {
  readonly id: string
  readonly key: string
  readonly secret: string
  readonly enabled: boolean
  readonly enableClientMessages: boolean
  readonly enableUserAuthentication: boolean
  /** -1: unlimited (not `Infinity`, see above). */
  readonly maxConnections: number
  readonly maxPresenceMembers: number
  readonly maxPresenceMemberSizeKb: number
  readonly maxClientEventsPerSecond: number
  readonly maxEventPayloadKb: number
  readonly maxEventNameLength: number
  readonly maxChannelNameLength: number
  readonly maxEventChannelsAtOnce: number
  readonly maxEventBatchSize: number
  readonly cacheTtl: number
  /**
   * The start of this app's hub room names (`appRoomPrefix`): Pusher's reserved namespace and the
   * app id. Not configurable: channels never share native rooms, nor other apps' channels.
   */
  readonly roomPrefix: string
  readonly config: PusherAppConfig
}

type Found = PusherAppConfig | null | undefined

/** Apps kept elsewhere (a database): looked up on each connection and each HTTP request. Cache inside if lookups are costly. */
export interface PusherAppLookup {
  byKey(key: string): Found | Promise<Found>
  byId(id: string): Found | Promise<Found>
}

export function resolveApp(config: PusherAppConfig): PusherApp {
  for (const field of ['id', 'key', 'secret'] as const) {
    if (typeof config[field] !== 'string' || config[field] === '') throw new InvalidOptionError(`pusher app ${field} must be a non-empty string`)
  }
  if ((config as { roomPrefix?: unknown }).roomPrefix !== undefined) {
    // It could make a channel the native room of the same name, and so bypass native authorization.
    throw new InvalidOptionError(
      `pusher app ${config.id}: roomPrefix is not supported; channels always live in Pusher's own namespace (app.roomcast.pusher reaches them)`,
    )
  }
  const maxConnections = limit(config, 'maxConnections', -1)
  return {
    id: config.id,
    key: config.key,
    secret: config.secret,
    enabled: config.enabled ?? true,
    enableClientMessages: config.enableClientMessages ?? false,
    enableUserAuthentication: config.enableUserAuthentication ?? false,
    maxConnections: maxConnections === Infinity ? -1 : maxConnections,
    maxPresenceMembers: limit(config, 'maxPresenceMembers', 100),
    maxPresenceMemberSizeKb: limit(config, 'maxPresenceMemberSizeKb', 1),
    maxClientEventsPerSecond: limit(config, 'maxClientEventsPerSecond', 10),
    maxEventPayloadKb: limit(config, 'maxEventPayloadKb', 10),
    maxEventNameLength: limit(config, 'maxEventNameLength', 200),
    maxChannelNameLength: limit(config, 'maxChannelNameLength', 164),
    maxEventChannelsAtOnce: limit(config, 'maxEventChannelsAtOnce', 100),
    maxEventBatchSize: limit(config, 'maxEventBatchSize', 10),
    cacheTtl: limit(config, 'cacheTtl', 3600),
    roomPrefix: appRoomPrefix(config.id),
    config,
  }
}

/** A numeric setting: its value, or `Infinity` when set below zero (unlimited). */
function limit(config: PusherAppConfig, name: keyof PusherAppConfig, fallback: number): number {
  const value = config[name] ?? fallback
  if (typeof value !== 'number' || Number.isNaN(value)) throw new InvalidOptionError(`pusher app ${config.id}: ${name} must be a number`)
  return value < 0 ? Infinity : value
}

/** Finds apps by key, id or room. Static lists are checked once at start-up; lookups on every call. */
export class AppRegistry {
  readonly #byKey = new Map<string, PusherApp>()
  readonly #byId = new Map<string, PusherApp>()
  readonly #lookup: PusherAppLookup | undefined
  readonly #lookupLimit: { hookTimeout: number; log: FastifyBaseLogger } | undefined

  /**
   * With `lookupLimit` (the plugin always gives it), a lookup's answer is awaited at most
   * `hookTimeout` ms: a time-out is logged on `log` and rejects with `HookTimeoutError`.
   */
  constructor(apps: readonly PusherAppConfig[] | PusherAppLookup, lookupLimit?: { hookTimeout: number; log: FastifyBaseLogger }) {
    this.#lookupLimit = lookupLimit
    if (!Array.isArray(apps)) {
      this.#lookup = apps as PusherAppLookup
      return
    }
    for (const config of apps as readonly PusherAppConfig[]) {
      const app = resolveApp(config)
      if (this.#byKey.has(app.key)) throw new InvalidOptionError(`two pusher apps have the key ${app.key}`)
      if (this.#byId.has(app.id)) throw new InvalidOptionError(`two pusher apps have the id ${app.id}`)
      this.#byKey.set(app.key, app)
      this.#byId.set(app.id, app)
    }
  }

  /** Whether apps come from a lookup (so `list()` cannot enumerate them). */
  get dynamic(): boolean {
    return this.#lookup !== undefined
  }

  /** The configured apps; empty for a lookup. */
  list(): PusherApp[] {
    return [...this.#byId.values()]
  }

  /** A configured app by key, found without waiting; always undefined for a lookup (see `dynamic`). */
  configured(key: string): PusherApp | undefined {
    return this.#byKey.get(key)
  }

  async byKey(key: string): Promise<PusherApp | undefined> {
    if (this.#lookup === undefined) return this.#byKey.get(key)
    const found = await this.#limited(this.#lookup.byKey(key), 'pusher.apps.byKey')
    return found == null ? undefined : resolveApp(found)
  }

  /** An app by id: without waiting for a configured list (the HTTP API's every request looks one up), a promise for a lookup. */
  byId(id: string): PusherApp | undefined | Promise<PusherApp | undefined> {
    if (this.#lookup === undefined) return this.#byId.get(id)
    return this.#lookedUpById(id)
  }

  async #lookedUpById(id: string): Promise<PusherApp | undefined> {
    const found = await this.#limited(this.#lookup!.byId(id), 'pusher.apps.byId')
    return found == null ? undefined : resolveApp(found)
  }

  #limited(found: Found | Promise<Found>, hook: string): Found | Promise<Found> {
    const limit = this.#lookupLimit
    return limit === undefined ? found : withHookTimeout(found, hook, limit.hookTimeout, limit.log)
  }

  /**
   * Whether a hub room may be a channel of some app, decided without waiting (hooks must act
   * in order): a configured app's room for a static list, any room in Pusher's namespace for a lookup.
   */
  mayOwn(room: string): boolean {
    const parsed = parsePusherRoom(room)
    if (parsed === undefined) return false
    return this.#lookup === undefined ? this.#byId.has(parsed.appId) : true
  }

  /** The app and channel behind a hub room, if the room is a Pusher channel. */
  async forRoom(room: string): Promise<{ app: PusherApp; channel: string } | undefined> {
    const parsed = parsePusherRoom(room)
    if (parsed === undefined) return undefined
    const app = await this.byId(parsed.appId)
    return app !== undefined && app.id === parsed.appId ? { app, channel: parsed.channel } : undefined
  }
}
