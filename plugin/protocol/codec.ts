import type { Delivery } from '../hub/delivery.js'

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
}
