/**
 * Pusher's signatures: lowercase hex HMAC-SHA256 with the app secret, prefixed by `key:` where
 * the protocol says so. Every comparison is constant-time, so a client cannot find a valid
 * signature byte by byte from response timings.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { PusherApp } from './apps.js'

/** What signing needs of an app: its key and secret (a `PusherApp`, a `PusherAppConfig`, or just those two). */
export type SigningKeys = Pick<PusherApp, 'key' | 'secret'>

export function hmacSha256Hex(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text).digest('hex')
}

/** Constant-time string equality; only the length can leak, and signatures have a public length. */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  if (left.length !== right.length) return false
  return timingSafeEqual(left, right)
}

/** What a private or encrypted (`socket_id:channel`) or presence (`socket_id:channel:channel_data`) signature covers. */
export function channelAuthString(socketId: string, channel: string, channelData?: string): string {
  return channelData === undefined ? `${socketId}:${channel}` : `${socketId}:${channel}:${channelData}`
}

/** What a `pusher:signin` signature covers. */
export function userAuthString(socketId: string, userData: string): string {
  return `${socketId}::user::${userData}`
}

/** The `auth` value an app's auth endpoint returns for a channel subscription. */
export function signChannel(app: SigningKeys, socketId: string, channel: string, channelData?: string): string {
  return `${app.key}:${hmacSha256Hex(app.secret, channelAuthString(socketId, channel, channelData))}`
}

/** The `auth` value an app's user-authentication endpoint returns for `pusher:signin`. */
export function signUser(app: SigningKeys, socketId: string, userData: string): string {
  return `${app.key}:${hmacSha256Hex(app.secret, userAuthString(socketId, userData))}`
}

export function verifyChannelAuth(app: SigningKeys, socketId: string, channel: string, auth: unknown, channelData?: string): boolean {
  return typeof auth === 'string' && safeEqual(auth, signChannel(app, socketId, channel, channelData))
}

export function verifyUserAuth(app: SigningKeys, socketId: string, userData: string, auth: unknown): boolean {
  return typeof auth === 'string' && safeEqual(auth, signUser(app, socketId, userData))
}

/** `X-Pusher-Signature` of a webhook: HMAC of the exact body bytes, no key prefix. */
export function signWebhook(app: Pick<PusherApp, 'secret'>, body: string): string {
  return hmacSha256Hex(app.secret, body)
}
