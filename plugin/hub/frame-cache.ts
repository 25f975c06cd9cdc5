import type { WireCodec } from './codec.js'
import { PreparedFrame } from './frame.js'
import type { Delivery } from './delivery.js'

/**
 * The frames of one delivery, one per (protocol, room) actually needed. The common case (one
 * protocol, one room) hits the first slot and allocates nothing per recipient.
 */
export class FrameCache {
  readonly #delivery: Delivery
  #codec: WireCodec | undefined
  #room: string | undefined
  #frame: PreparedFrame | undefined
  #others: Map<string, PreparedFrame> | undefined

  constructor(delivery: Delivery) {
    this.#delivery = delivery
  }

  frame(codec: WireCodec, room: string | undefined): PreparedFrame {
    if (this.#frame !== undefined && codec === this.#codec && room === this.#room) return this.#frame
    const key = codec.protocol + '\u0000' + (room ?? '')
    let frame = this.#others?.get(key)
    if (frame === undefined) {
      const position = this.#delivery.position
      frame =
        position === undefined || room === undefined
          ? new PreparedFrame(codec.encode(this.#delivery, room))
          : new PreparedFrame(codec.encode(this.#delivery, room), room, position)
      ;(this.#others ??= new Map()).set(key, frame)
    }
    this.#codec = codec
    this.#room = room
    this.#frame = frame
    return frame
  }
}
