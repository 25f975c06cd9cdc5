/**
 * Channel names: types by anchored prefix (soketi's unanchored matching makes `my-private-room`
 * private), Pusher's naming rules, and the mapping between channels and hub rooms (always in
 * Pusher's own namespace, apart from native rooms).
 */
import { protocolNamespace } from '../hub/namespace.js'
import type { PusherApp } from './apps.js'
import { PUSHER_PROTOCOL } from './codec.js'

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

/**
 * The start of every hub room (and every user key) of an app: Pusher's namespace, which native
 * room names and user ids can never start with, then the app id, percent-encoded so that the
 * first `:` after the namespace ends it. Every app has one, so no configuration can make a
 * channel share a native room, and apps never see each other's channels.
 */
export function appRoomPrefix(appId: string): string {
  return pusherNamespace() + encodeURIComponent(appId) + ':'
}

let pusherNamespaceText: string | undefined
/** Built on first use: `codec.js` imports this module too, so its constant is not there yet while this one loads. */
function pusherNamespace(): string {
  return (pusherNamespaceText ??= protocolNamespace(PUSHER_PROTOCOL))
}

/** The hub room of an app's channel. */
export function roomOf(app: PusherApp, channel: string): string {
  return app.roomPrefix + channel
}

/** The app id and channel of a hub room, if it is a Pusher channel's room. */
export function parsePusherRoom(room: string): { appId: string; channel: string } | undefined {
  const colon = appIdEnd(room)
  if (colon < 0) return undefined
  let appId: string
  try {
    appId = decodeURIComponent(room.slice(pusherNamespace().length, colon))
  } catch {
    return undefined
  }
  return { appId, channel: room.slice(colon + 1) }
}

/** The channel of a hub room (what follows the app id); a room outside Pusher's namespace is returned as it is. */
export function channelOfRoom(room: string): string {
  const colon = appIdEnd(room)
  return colon < 0 ? room : room.slice(colon + 1)
}

/** Where the app id of a Pusher room ends (its `:`), or -1 for a room outside Pusher's namespace. */
function appIdEnd(room: string): number {
  const prefix = pusherNamespace()
  return room.startsWith(prefix) ? room.indexOf(':', prefix.length) : -1
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
