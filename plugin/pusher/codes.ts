/**
 * Pusher's close and error codes (Pusher protocol, "Error codes"). pusher-js decides from the
 * range what to do after a close: 4000-4099 never reconnect, 4100-4199 reconnect after a
 * backoff, 4200-4299 reconnect at once, 4300-4399 never reconnect.
 */
export const PusherCode = {
  /** No app has this key. */
  AppUnknown: 4001,
  /** The app exists but is disabled. */
  AppDisabled: 4003,
  /** The app is at its connection quota (`maxConnections`). */
  OverQuota: 4004,
  /** The `protocol` query parameter is not an integer. */
  InvalidVersion: 4006,
  /** The `protocol` version is not one this server speaks. */
  UnsupportedProtocol: 4007,
  /** No `protocol` query parameter. */
  NoProtocol: 4008,
  /** Not authorized: bad sign-in, sign-in timeout, terminated by the app; also bad channel names. */
  Unauthorized: 4009,
  /** Over capacity (presence member limit; a connection sending messages too fast); clients retry after a backoff. */
  OverCapacity: 4100,
  /** Generic "reconnect now": the server is shutting down or draining. */
  Reconnect: 4200,
  /** The client did not answer the server's `pusher:ping`. */
  PongNotReceived: 4201,
  /** A client event or presence member was refused (disabled, too large, rate limited); never a close code (pusher-js would not reconnect). */
  ClientEventRejected: 4301,
  /** The server failed to process a subscription (bad `channel_data`). */
  ServerError: 4302,
} as const

export type PusherCode = (typeof PusherCode)[keyof typeof PusherCode]

/** Protocol versions accepted in `?protocol=` (pusher-js 4 to 8 send 7). */
export const MIN_PROTOCOL_VERSION = 5
export const MAX_PROTOCOL_VERSION = 7

/** The texts clients see; soketi's wording where it has one, so existing client code keeps matching. */
export const PusherMessage = {
  serverClosing: 'Server closed. Please reconnect shortly.',
  appDisabled: 'The app is not enabled.',
  overQuota: 'The current concurrent connections quota has been reached.',
  noProtocol: 'No protocol version supplied.',
  invalidVersion: 'Invalid version string format.',
  unauthorized: 'Connection not authorized.',
  signinTimeout: 'Connection not authorized within timeout.',
  terminated: 'You got disconnected by the app.',
  kicked: 'The server disconnected this connection.',
  subscriptionUnauthorized: 'The connection is unauthorized.',
  channelNameNotAllowed:
    'The channel name is not allowed. Read channel conventions: https://pusher.com/docs/channels/using_channels/channels/#channel-naming-conventions',
  clientMessagesDisabled: 'The app does not have client messaging enabled.',
  clientEventsRateLimited: 'The rate limit for sending client events exceeded the quota.',
  presenceMemberLimit: 'The maximum members per presence channel limit was reached',
} as const
