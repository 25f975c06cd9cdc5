import { InvalidOptionError } from '../../hub/errors.js'

/**
 * A Pusher app's webhook endpoints as configured (`PusherAppConfig.webhooks`): where to POST,
 * which event types, which channels, and extra headers. Checked once for a static app list and
 * on use for apps from a lookup, so a bad entry is reported instead of failing at send time.
 */

/** Every event a Pusher webhook can carry (Pusher's names). */
export const WEBHOOK_EVENT_TYPES = [
  'channel_occupied',
  'channel_vacated',
  'member_added',
  'member_removed',
  'client_event',
  'cache_miss',
  'subscription_count',
] as const

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number]

export interface WebhookFilter {
  /** Only channels whose name starts with this. */
  channelNamePrefix?: string
  /** Only channels whose name ends with this. Combined with the prefix by AND. */
  channelNameSuffix?: string
}

/** One webhook endpoint of an app. */
export interface WebhookConfig {
  /** `http:` or `https:` URL the events are POSTed to. */
  url: string
  /** Event types sent to this endpoint. Default: all of them. */
  eventTypes?: readonly WebhookEventType[]
  filter?: WebhookFilter
  /**
   * Extra request headers (an auth token for the receiver, say). They can never replace the
   * headers the signature depends on: `Content-Type`, `X-Pusher-Key`, `X-Pusher-Signature`.
   */
  headers?: Readonly<Record<string, string>>
}

/** Headers a webhook's own configuration may not set: the signed ones and those HTTP itself owns. */
const PROTECTED_HEADERS = new Set(['content-type', 'x-pusher-key', 'x-pusher-signature', 'content-length', 'host', 'transfer-encoding', 'connection'])

export function isProtectedHeader(name: string): boolean {
  return PROTECTED_HEADERS.has(name.toLowerCase())
}

/** Throws an `InvalidOptionError` that names the app and the entry when a webhook entry cannot work. */
export function checkWebhooks(appId: string, webhooks: unknown): readonly WebhookConfig[] {
  if (webhooks === undefined) return []
  if (!Array.isArray(webhooks)) throw new InvalidOptionError(`pusher app ${appId}: webhooks must be a list`)
  webhooks.forEach((webhook: unknown, index) => {
    const where = `pusher app ${appId}: webhooks[${index}]`
    if (webhook === null || typeof webhook !== 'object') throw new InvalidOptionError(`${where} must be an object`)
    const { url, eventTypes, filter, headers } = webhook as Record<string, unknown>
    let parsed: URL
    try {
      parsed = new URL(String(url))
    } catch {
      throw new InvalidOptionError(`${where}.url is not a URL`)
    }
    if (typeof url !== 'string' || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:'))
      throw new InvalidOptionError(`${where}.url must be an http(s) URL`)
    if (eventTypes !== undefined) {
      if (!Array.isArray(eventTypes)) throw new InvalidOptionError(`${where}.eventTypes must be a list`)
      for (const type of eventTypes) {
        if (!(WEBHOOK_EVENT_TYPES as readonly unknown[]).includes(type))
          throw new InvalidOptionError(`${where}.eventTypes: unknown event type ${JSON.stringify(type)}`)
      }
    }
    if (filter !== undefined) {
      if (filter === null || typeof filter !== 'object') throw new InvalidOptionError(`${where}.filter must be an object`)
      const { channelNamePrefix, channelNameSuffix } = filter as Record<string, unknown>
      if (channelNamePrefix !== undefined && typeof channelNamePrefix !== 'string')
        throw new InvalidOptionError(`${where}.filter.channelNamePrefix must be a string`)
      if (channelNameSuffix !== undefined && typeof channelNameSuffix !== 'string')
        throw new InvalidOptionError(`${where}.filter.channelNameSuffix must be a string`)
    }
    if (headers !== undefined) {
      if (headers === null || typeof headers !== 'object') throw new InvalidOptionError(`${where}.headers must be an object`)
      for (const [name, value] of Object.entries(headers)) {
        if (typeof value !== 'string') throw new InvalidOptionError(`${where}.headers.${name} must be a string`)
        if (isProtectedHeader(name)) throw new InvalidOptionError(`${where}.headers: ${name} is set by the webhook sender and cannot be overridden`)
        try {
          // The same rules fetch applies when sending: a bad name or value fails here, not later.
          new Headers([[name, value]])
        } catch {
          throw new InvalidOptionError(`${where}.headers: ${JSON.stringify(name)} is not a valid header`)
        }
      }
    }
  })
  return webhooks as readonly WebhookConfig[]
}

/** Whether an endpoint wants an event of this type on this channel. */
export function wants(webhook: WebhookConfig, type: WebhookEventType, channel: string): boolean {
  if (webhook.eventTypes !== undefined && !webhook.eventTypes.includes(type)) return false
  const filter = webhook.filter
  if (filter?.channelNamePrefix !== undefined && !channel.startsWith(filter.channelNamePrefix)) return false
  if (filter?.channelNameSuffix !== undefined && !channel.endsWith(filter.channelNameSuffix)) return false
  return true
}

/** The endpoint's own headers without any that would override the signed ones. */
export function customHeaders(webhook: WebhookConfig): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(webhook.headers ?? {})) if (!isProtectedHeader(name)) headers[name] = value
  return headers
}
