import { SystemEvent, type StreamPosition } from '../../shared/envelope.js'
import type { Delivery } from '../hub/delivery.js'
import type { WireCodec } from '../hub/codec.js'

/** The name connections of this protocol carry (`Connection.protocol`, `Delivery.protocol`). */
export const NATIVE_PROTOCOL = 'native'

/** Builds a native envelope by concatenation: `data` is already JSON text and is never re-parsed. */
export function nativeFrame(event: string, data: string | undefined, extra?: { id?: number; room?: string; position?: StreamPosition }): string {
  let text = '{"event":' + JSON.stringify(event)
  if (data !== undefined) text += ',"data":' + data
  if (extra?.id !== undefined) text += ',"id":' + extra.id
  if (extra?.room !== undefined) text += ',"room":' + JSON.stringify(extra.room)
  // Only publications to rooms with history carry a position: other rooms' frames stay as they were.
  const position = extra?.position
  if (position !== undefined) text += ',"offset":' + position.offset + ',"epoch":' + JSON.stringify(position.epoch)
  return text + '}'
}

export const nativeCodec: WireCodec = {
  protocol: NATIVE_PROTOCOL,
  encode: (delivery: Delivery, room: string | undefined) =>
    nativeFrame(
      delivery.event,
      delivery.data,
      room === undefined ? undefined : delivery.position === undefined ? { room } : { room, position: delivery.position },
    ),
  heartbeat: nativeFrame(SystemEvent.Heartbeat, undefined),
  membership: (joined, left) => nativeFrame(SystemEvent.Membership, JSON.stringify({ joined, left })),
}
