import { randomFillSync } from 'node:crypto'

/** Pusher's socket id shape; the `pusher` server SDK refuses any other. */
export const SOCKET_ID = /^\d+\.\d+$/

/**
 * A socket id in Pusher's `digits.digits` form that is also unguessable: two random 64-bit
 * integers (128 bits from the CSPRNG). It doubles as the hub connection id, so it must not be
 * predictable the way soketi's two numbers below 10^10 are.
 */
export function newSocketId(): string {
  if (offset === POOL_SIZE) {
    randomFillSync(pool)
    offset = 0
  }
  const id = `${pool.readBigUInt64BE(offset)}.${pool.readBigUInt64BE(offset + 8)}`
  offset += 16
  return id
}

/** Random bytes for the next ids, filled 256 ids at a time: one CSPRNG call per batch, not one per connection. */
const POOL_SIZE = 16 * 256
const pool = Buffer.allocUnsafe(POOL_SIZE)
/** The first unused byte of the pool; a full pool's length when it needs filling. */
let offset = POOL_SIZE
