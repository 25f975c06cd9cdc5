import { randomBytes } from 'node:crypto'

/** Pusher's socket id shape; the `pusher` server SDK refuses any other. */
export const SOCKET_ID = /^\d+\.\d+$/

/**
 * A socket id in Pusher's `digits.digits` form that is also unguessable: two random 64-bit
 * integers (128 bits from the CSPRNG). It doubles as the hub connection id, so it must not be
 * predictable the way soketi's two numbers below 10^10 are.
 */
export function newSocketId(): string {
  const bytes = randomBytes(16)
  return `${bytes.readBigUInt64BE(0)}.${bytes.readBigUInt64BE(8)}`
}
