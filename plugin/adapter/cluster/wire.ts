import type { StreamPosition } from '../../../shared/envelope.js'
import type { Delivery, Target } from '../../hub/delivery.js'

/**
 * The bus form of a delivery: a one-line JSON header, a newline, then the payload's JSON text
 * exactly as the publisher serialized it:
 *
 *   {"o":"<busId>","k":"r","n":["lobby"],"e":"chat.message","x":["<connId>"]}\n{"from":"u1","text":"hi"}
 *
 * The payload is never embedded in (and escaped into) another JSON string: the publisher
 * concatenates, and a receiving node parses only the small header and slices the rest, once,
 * whatever the number of its recipients. JSON.stringify escapes newlines inside strings, so the
 * first newline always ends the header. No newline: the delivery has no data.
 *
 * Header fields: o origin bus id (a node ignores its own), k target kind (r rooms, u users,
 * c connections, a all), n the names, e event, x except ids, p protocol filter, u the sending
 * user (a string or a number, kept as it is), s the position in a room's stream
 * (`["<epoch>", <offset>]`, deliveries to a room with history), m a sequence
 * number present when the message went out on several channels (a node subscribed to more
 * than one of them keeps the first copy).
 */
interface WireHeader {
  o: string
  k: 'r' | 'u' | 'c' | 'a'
  n?: string[]
  e: string
  x?: string[]
  p?: string
  u?: string | number
  s?: [string, number]
  m?: number
}

export interface BusDelivery {
  origin: string
  /** Set when the same message was published on several channels. */
  sequence: number | undefined
  delivery: Delivery
}

export class WireFormatError extends Error {
  constructor(message: string) {
    super(`roomcast: malformed bus message: ${message}`)
    this.name = 'WireFormatError'
  }
}

export function encodeDelivery(delivery: Delivery, origin: string, sequence?: number): string {
  const header: WireHeader = { o: origin, k: 'a', e: delivery.event }
  const target = delivery.target
  switch (target.kind) {
    case 'rooms':
      header.k = 'r'
      header.n = target.rooms
      break
    case 'users':
      header.k = 'u'
      header.n = target.users
      break
    case 'connections':
      header.k = 'c'
      header.n = target.ids
      break
    case 'all':
      break
  }
  if (delivery.except !== undefined && delivery.except.length > 0) header.x = delivery.except
  if (delivery.protocol !== undefined) header.p = delivery.protocol
  if (delivery.userId !== undefined) header.u = delivery.userId
  if (delivery.position !== undefined) header.s = [delivery.position.epoch, delivery.position.offset]
  if (sequence !== undefined) header.m = sequence
  const head = JSON.stringify(header)
  return delivery.data === undefined ? head : head + '\n' + delivery.data
}

/**
 * The bus form of a delivery whose stream position is decided inside Redis (the history
 * script): the header without its closing brace, to which the script appends
 * `,"s":["<epoch>",<offset>]}` (an epoch is a base64url token, so it needs no escaping), and the
 * rest (`\n` and the payload, or nothing). Decoded by `decodeDelivery` like any other.
 */
export function encodeDeliveryAwaitingPosition(delivery: Delivery, origin: string): { head: string; tail: string } {
  const text = encodeDelivery({ ...delivery, position: undefined }, origin)
  const end = delivery.data === undefined ? text.length : text.length - delivery.data.length - 1
  return { head: text.slice(0, end - 1), tail: text.slice(end) }
}

export function decodeDelivery(text: string): BusDelivery {
  const newline = text.indexOf('\n')
  let header: unknown
  try {
    header = JSON.parse(newline < 0 ? text : text.slice(0, newline))
  } catch {
    throw new WireFormatError('header is not JSON')
  }
  if (header === null || typeof header !== 'object') throw new WireFormatError('header is not an object')
  const h = header as Partial<Record<keyof WireHeader, unknown>>
  if (typeof h.o !== 'string' || typeof h.e !== 'string') throw new WireFormatError('origin or event missing')
  const delivery: Delivery = { target: targetOf(h.k, h.n), event: h.e }
  if (h.x !== undefined) delivery.except = stringList(h.x, 'except')
  if (h.p !== undefined) {
    if (typeof h.p !== 'string') throw new WireFormatError('protocol is not a string')
    delivery.protocol = h.p
  }
  if (h.u !== undefined) {
    if (typeof h.u !== 'string' && typeof h.u !== 'number') throw new WireFormatError('user is neither a string nor a number')
    delivery.userId = h.u
  }
  if (h.s !== undefined) delivery.position = positionOf(h.s)
  if (newline >= 0) delivery.data = text.slice(newline + 1)
  if (h.m !== undefined && typeof h.m !== 'number') throw new WireFormatError('sequence is not a number')
  return { origin: h.o, sequence: h.m as number | undefined, delivery }
}

function targetOf(kind: unknown, names: unknown): Target {
  switch (kind) {
    case 'r':
      return { kind: 'rooms', rooms: stringList(names, 'rooms') }
    case 'u':
      return { kind: 'users', users: stringList(names, 'users') }
    case 'c':
      return { kind: 'connections', ids: stringList(names, 'connection ids') }
    case 'a':
      return { kind: 'all' }
    default:
      throw new WireFormatError('unknown target kind')
  }
}

function positionOf(value: unknown): StreamPosition {
  if (!Array.isArray(value) || value.length !== 2) throw new WireFormatError('stream position is not an [epoch, offset] pair')
  const [epoch, offset] = value as unknown[]
  if (typeof epoch !== 'string' || epoch.length === 0) throw new WireFormatError('stream epoch is not a string')
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 1) throw new WireFormatError('stream offset is not a positive integer')
  return { epoch, offset }
}

function stringList(value: unknown, what: string): string[] {
  if (!Array.isArray(value)) throw new WireFormatError(`${what} is not a list`)
  for (const item of value) if (typeof item !== 'string') throw new WireFormatError(`${what} holds a non-string`)
  return value as string[]
}
