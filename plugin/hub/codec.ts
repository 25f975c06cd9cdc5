import type { Delivery } from './delivery.js'

/**
 * Turns hub deliveries into one wire protocol's text frames. The hub builds each distinct
 * (codec, room) frame once per delivery and writes the same bytes to every recipient.
 */
export interface WireCodec {
  /** The protocol's name; `Delivery.protocol` filters on it. */
  readonly protocol: string
  /** The frame text of a delivery as seen through `room` (undefined when not a room delivery). */
  encode(delivery: Delivery, room: string | undefined): string
  /** The heartbeat frame the sweep sends in `event` mode; absent: the sweep sends WebSocket pings. */
  readonly heartbeat?: string
  /**
   * How the protocol closes for a hub close code: its own code and reason, and a frame to send
   * first (Pusher maps heartbeat timeout 4002 to 4201, shutdown 1001 to 4200 with a `pusher:error`).
   * Absent: the hub's code as is.
   */
  closing?(code: number, reason: string): Closing
  /**
   * The frame that tells a connection the server changed its rooms on its own; absent when the
   * protocol has no such message (Pusher clients only hear of their own subscriptions).
   */
  membership?(joined: readonly string[], left: readonly string[]): string
}

/** A protocol's way of closing: the code and reason on the wire, and an optional last frame. */
export interface Closing {
  code: number
  reason: string
  frame?: string
}
