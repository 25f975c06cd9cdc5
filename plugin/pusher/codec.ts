/**
 * Pusher framing: `{"event","channel"?,"data"?,"user_id"?}` where `data` is a JSON *string*
 * holding the payload's JSON ("double encoding", Pusher protocol). A hub delivery's `data` is
 * already the payload's JSON text, so the frame only quotes it: one `JSON.stringify` of a
 * string per (codec, room), never a parse.
 */
import { CloseCode } from '../../shared/codes.js'
import type { Delivery } from '../hub/delivery.js'
import type { Closing, WireCodec } from '../hub/codec.js'
import { channelOfRoom, type SubscriptionErrorData } from './channels.js'
import { PusherCode, PusherMessage } from './codes.js'
import { PUSHER_PROTOCOL } from './protocol.js'

/** An event frame; `dataJson` is the payload's JSON text and goes out double-encoded. */
export function eventFrame(event: string, channel: string | undefined, dataJson: string | undefined, userId?: string | number): string {
  let text = '{"event":' + JSON.stringify(event)
  if (channel !== undefined) text += ',"channel":' + JSON.stringify(channel)
  if (dataJson !== undefined) text += ',"data":' + JSON.stringify(dataJson)
  if (userId !== undefined) text += ',"user_id":' + JSON.stringify(userId)
  return text + '}'
}

/**
 * `pusher:error`. Its data stays an object, as Pusher documents it and pusher-js reads it for
 * close actions; `code` is null for errors that are not one of Pusher's codes.
 */
export function errorFrame(code: number | null, message: string, channel?: string): string {
  const data = { code, message }
  return JSON.stringify(channel === undefined ? { event: 'pusher:error', data } : { event: 'pusher:error', channel, data })
}

/** `pusher:subscription_error`, routed by pusher-js to the channel, which emits the data object. */
export function subscriptionErrorFrame(channel: string, error: SubscriptionErrorData): string {
  return JSON.stringify({ event: 'pusher:subscription_error', channel, data: error })
}

/** Digits and a dot: nothing in a socket id of ours needs escaping at either level of encoding. */
const PLAIN_SOCKET_ID = /^[0-9.]+$/

/** Sent once per connection, in a storm thousands of times a second: put together, not stringified twice. */
export function connectionEstablishedFrame(socketId: string, activityTimeout: number): string {
  if (!PLAIN_SOCKET_ID.test(socketId) || !Number.isSafeInteger(activityTimeout)) {
    return eventFrame('pusher:connection_established', undefined, JSON.stringify({ socket_id: socketId, activity_timeout: activityTimeout }))
  }
  return `{"event":"pusher:connection_established","data":"{\\"socket_id\\":\\"${socketId}\\",\\"activity_timeout\\":${activityTimeout}}"}`
}

export const PONG_FRAME = eventFrame('pusher:pong', undefined, '{}')
export const PING_FRAME = eventFrame('pusher:ping', undefined, '{}')

/**
 * Hub close codes → Pusher's, so every server-side close (heartbeat sweep, shutdown, drain,
 * `disconnect()`) makes pusher-js do the right thing: reconnect now after a shutdown, never
 * after a kick. Pusher codes pass through with a `pusher:error` first, as soketi does.
 */
function closing(code: number, reason: string): Closing {
  switch (code) {
    case CloseCode.ServerShutdown:
    case CloseCode.Draining:
      return withError(PusherCode.Reconnect, PusherMessage.serverClosing)
    case CloseCode.HeartbeatTimeout:
      // Pusher closes a silent connection without an error frame.
      return { code: PusherCode.PongNotReceived, reason: 'Pong reply not received' }
    case CloseCode.Kicked:
      return withError(PusherCode.Unauthorized, reason === '' ? PusherMessage.kicked : reason)
  }
  if (code >= 4000 && code <= 4999) return withError(code, reason)
  return { code, reason }
}

function withError(code: number, reason: string): Closing {
  return { code, reason, frame: errorFrame(code, reason) }
}

export const pusherCodec: WireCodec = {
  protocol: PUSHER_PROTOCOL,
  encode: (delivery: Delivery, room: string | undefined) =>
    eventFrame(delivery.event, room === undefined ? undefined : channelOfRoom(room), delivery.data, delivery.userId),
  heartbeat: PING_FRAME,
  closing,
}
