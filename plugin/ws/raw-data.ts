import type { RawData } from 'ws'

/** Bytes in a message as ws hands it over (a Buffer, fragments, or an ArrayBuffer). */
export function byteLengthOf(raw: RawData): number {
  if (Array.isArray(raw)) {
    let total = 0
    for (const fragment of raw) total += fragment.length
    return total
  }
  return raw.byteLength
}

/** The text of a message (UTF-8). */
export function textOf(raw: RawData): string {
  if (Buffer.isBuffer(raw)) return raw.toString('utf8')
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8')
  return Buffer.from(raw).toString('utf8')
}
