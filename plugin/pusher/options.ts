import type { PusherAppConfig, PusherAppLookup } from './apps.js'
import type { ChannelCache } from './cache.js'
import { resolvePusherHttpOptions, type PusherHttpOptions, type ResolvedPusherHttpOptions } from './http/options.js'
import { resolveWebhookOptions, type ResolvedWebhookOptions, type WebhookOptions } from './webhooks/options.js'
import { checkWebhooks } from './webhooks/config.js'

/** The `pusher` option of the plugin: speak the Pusher Channels protocol (pusher-js, Laravel Echo) on `[pathPrefix]/app/:key`. */
export interface PusherOptions {
  /** The apps: a list, or a lookup by key and id for apps kept elsewhere. */
  apps: readonly PusherAppConfig[] | PusherAppLookup
  /** Prefix of the WebSocket route (and of the HTTP API routes). Default empty: `/app/:key`. */
  pathPrefix?: string
  /**
   * `activity_timeout` told to clients, in seconds: pusher-js pings after this long without a
   * message. Default 120 (Pusher's recommendation). The server's own pings and the 4201 close
   * follow the plugin's `heartbeat` option.
   */
  activityTimeout?: number
  /** Time an app with `enableUserAuthentication` gives a connection to sign in, in ms. Default 30 000. */
  userAuthenticationTimeout?: number
  /** Channels one connection may be subscribed to. Default 1000. */
  maxChannelsPerConnection?: number
  /** Where cache channels keep their last event. Default: in Redis with the Redis adapter (every node replays the same event), else in memory. */
  cache?: ChannelCache
  /** The Pusher HTTP API (`[pathPrefix]/apps/:appId/...`, for the `pusher` SDK) and its health route; false to leave them out. Default: on. */
  http?: PusherHttpOptions | false
  /** How webhooks (endpoints per app: `webhooks` in each app) are batched, queued and retried; false to send none. */
  webhooks?: WebhookOptions | false
  /** Apps with `enableSubscriptionCount`: a channel's count is taken this long after it changes, in ms (a burst is one count). Default 1000. */
  subscriptionCountInterval?: number
}

export interface ResolvedPusherOptions {
  apps: readonly PusherAppConfig[] | PusherAppLookup
  pathPrefix: string
  activityTimeout: number
  userAuthenticationTimeout: number
  maxChannelsPerConnection: number
  cache: ChannelCache | undefined
  http: ResolvedPusherHttpOptions | false
  webhooks: ResolvedWebhookOptions | false
  subscriptionCountInterval: number
}

/**
 * Fills in the defaults of options already checked against `PusherOptionsSchema` (the plugin
 * checks all its options at once), and checks what the schema cannot: webhook headers as fetch
 * would send them. `mountPrefix` (Fastify's `prefix`) goes before every route path.
 */
export function resolvePusherOptions(options: PusherOptions, mountPrefix = ''): ResolvedPusherOptions {
  const apps = options.apps
  const pathPrefix = mountPrefix + (options.pathPrefix ?? '').replace(/\/+$/, '')
  // Before anything starts: a webhook that cannot work is a configuration error, not a runtime log line.
  if (Array.isArray(apps)) for (const app of apps as readonly PusherAppConfig[]) checkWebhooks(String(app.id), app.webhooks)
  const http = options.http === false ? false : (options.http ?? {})
  return {
    apps,
    pathPrefix,
    activityTimeout: Math.ceil(options.activityTimeout ?? 120),
    userAuthenticationTimeout: options.userAuthenticationTimeout ?? 30_000,
    maxChannelsPerConnection: options.maxChannelsPerConnection ?? 1000,
    cache: options.cache,
    http: http === false ? false : resolvePusherHttpOptions({ ...http, healthPath: http.healthPath && mountPrefix + http.healthPath }, pathPrefix),
    webhooks: options.webhooks === false ? false : resolveWebhookOptions(options.webhooks),
    subscriptionCountInterval: options.subscriptionCountInterval ?? 1000,
  }
}
