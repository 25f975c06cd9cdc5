/**
 * What a webhook request carries: Pusher's event shapes, the body `{ time_ms, events }`, and
 * its signature. The body is serialized once and signed over exactly those bytes, which are
 * the bytes sent (and re-sent on retries).
 */
import type { PusherApp } from '../apps.js'
import type { ChannelEvent, ClientEventInfo, MemberEvent, PresenceUserId, SubscriptionCountEvent } from '../events.js'
import { hmacSha256Hex } from '../signatures.js'
import type { ClientEventDataShape } from './options.js'

export type WebhookEvent =
  | { name: 'channel_occupied' | 'channel_vacated' | 'cache_miss'; channel: string }
  | { name: 'member_added' | 'member_removed'; channel: string; user_id: PresenceUserId }
  | { name: 'client_event'; channel: string; event: string; data: unknown; socket_id: string; user_id?: PresenceUserId }
  | { name: 'subscription_count'; channel: string; subscription_count: number }

export function channelWebhookEvent(name: 'channel_occupied' | 'channel_vacated' | 'cache_miss', event: ChannelEvent): WebhookEvent {
  return { name, channel: event.channel }
}

/** `user_id` keeps the JSON type it had in `channel_data`. */
export function memberWebhookEvent(name: 'member_added' | 'member_removed', event: MemberEvent): WebhookEvent {
  return { name, channel: event.channel, user_id: event.userId }
}

/**
 * Pusher sends a client event's `data` as a string: the text the client sent, or its JSON.
 * soketi sends it as the client sent it (`as-sent`), which receivers written for soketi expect.
 */
export function clientWebhookEvent(event: ClientEventInfo, shape: ClientEventDataShape = 'string'): WebhookEvent {
  const data = shape === 'as-sent' || typeof event.data === 'string' ? event.data : (JSON.stringify(event.data) ?? 'null')
  const out: WebhookEvent = { name: 'client_event', channel: event.channel, event: event.event, data, socket_id: event.socketId }
  if (event.userId !== undefined) out.user_id = event.userId
  return out
}

export function subscriptionCountWebhookEvent(event: SubscriptionCountEvent): WebhookEvent {
  return { name: 'subscription_count', channel: event.channel, subscription_count: event.subscriptionCount }
}

/** A request ready to send: body text, its signature, and the app key for `X-Pusher-Key`. */
export interface SignedBody {
  body: string
  signature: string
  key: string
}

export function signedBody(app: Pick<PusherApp, 'key' | 'secret'>, timeMs: number, events: readonly WebhookEvent[]): SignedBody {
  const body = JSON.stringify({ time_ms: timeMs, events })
  // The same HMAC as signWebhook: X-Pusher-Signature covers the exact body bytes.
  return { body, signature: hmacSha256Hex(app.secret, body), key: app.key }
}
