/**
 * Channel names: types by anchored prefix (soketi's unanchored matching makes `my-private-room`
 * private), Pusher's naming rules, and the mapping between channels and hub rooms.
 */
import type { PusherApp } from './apps.js'

export type ChannelType = 'public' | 'private' | 'private-encrypted' | 'presence' | 'server-to-user'

/** The channel pusher-js subscribes to after sign-in; delivery to it follows the signed-in user. */
export const USER_CHANNEL_PREFIX = '#server-to-user-'

/** Pusher's character set; `#` only starts the reserved server-to-user channels. */
const CHANNEL_NAME = /^[-a-zA-Z0-9_=@,.;]+$/

export function channelType(channel: string): ChannelType {
  if (channel.startsWith('private-encrypted-')) return 'private-encrypted'
  if (channel.startsWith('private-')) return 'private'
  if (channel.startsWith('presence-')) return 'presence'
  if (channel.startsWith(USER_CHANNEL_PREFIX)) return 'server-to-user'
  return 'public'
}

/** Private, encrypted and presence channels need a signature from the app's auth endpoint. */
export function requiresAuth(type: ChannelType): boolean {
  return type === 'private' || type === 'private-encrypted' || type === 'presence'
}

/** Cache channels replay their last published event to new subscribers. */
export function isCacheChannel(channel: string): boolean {
  return (
    channel.startsWith('cache-') ||
    channel.startsWith('private-cache-') ||
    channel.startsWith('private-encrypted-cache-') ||
    channel.startsWith('presence-cache-')
  )
}

export function isClientEvent(event: string): boolean {
  return event.startsWith('client-')
}

export function userChannel(userId: string): string {
  return USER_CHANNEL_PREFIX + userId
}

/** `pusher:subscription_error` data, in the shape pusher-js hands to the application. */
export interface SubscriptionErrorData {
  type?: 'AuthError' | 'LimitReached' | 'ServerError'
  error: string
  status: number
}

/** Checks a client-chosen channel name; undefined when it is acceptable. */
export function checkChannelName(channel: string, maxLength: number): SubscriptionErrorData | undefined {
  if (channel.length > maxLength) {
    return { type: 'LimitReached', error: `The channel name is longer than the allowed ${maxLength} characters.`, status: 4009 }
  }
  if (!CHANNEL_NAME.test(channel)) {
    return {
      error:
        'The channel name is not allowed. Read channel conventions: https://pusher.com/docs/channels/using_channels/channels/#channel-naming-conventions',
      status: 4009,
    }
  }
  return undefined
}

/** Whether a name can be a channel at all (HTTP publishes, server-side helpers). */
export function isValidChannelName(channel: string, maxLength: number): boolean {
  if (channel.startsWith(USER_CHANNEL_PREFIX)) return channel.length > USER_CHANNEL_PREFIX.length
  return checkChannelName(channel, maxLength) === undefined
}

/** The hub room of an app's channel. */
export function roomOf(app: PusherApp, channel: string): string {
  return app.roomPrefix + channel
}

/**
 * The channel of a hub room. Channel names never contain ':', so it is what follows the last
 * one; user channels are the exception (user ids may contain ':'), found by their own prefix.
 */
export function channelOfRoom(room: string): string {
  const user = room.indexOf(USER_CHANNEL_PREFIX)
  if (user === 0 || (user > 0 && room.charCodeAt(user - 1) === 58 /* : */)) return room.slice(user)
  const colon = room.lastIndexOf(':')
  return colon < 0 ? room : room.slice(colon + 1)
}

/**
 * The hidden room every connection of an app with a connection quota joins: its size is the
 * app's connection count across the cluster. `#` keeps it out of the client channel space.
 */
export function appConnectionsRoom(app: PusherApp): string {
  return app.roomPrefix + '#connections'
}

/** Hidden rooms (`#...` channels other than a user's) are not channels an application sees. */
export function isHiddenChannel(channel: string): boolean {
  return channel.startsWith('#')
}
