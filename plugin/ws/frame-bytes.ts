/**
 * Server frames are never masked (RFC 6455 §5.1), so a frame depends only on its text: the
 * hub's prepared frames keep these bytes and every recipient gets the same buffer.
 */

/** One final, unmasked, uncompressed text frame: header and payload in a single allocation. */
export function encodeTextFrame(text: string): Buffer {
  const length = Buffer.byteLength(text)
  const offset = length < 126 ? 2 : length < 65536 ? 4 : 10
  const frame = Buffer.allocUnsafe(offset + length)
  frame[0] = 0x81 // FIN + opcode 1 (text)
  if (length < 126) {
    frame[1] = length
  } else if (length < 65536) {
    frame[1] = 126
    frame.writeUInt16BE(length, 2)
  } else {
    frame[1] = 127
    frame.writeUInt32BE(Math.floor(length / 0x100000000), 2)
    frame.writeUInt32BE(length >>> 0, 6)
  }
  frame.write(text, offset, 'utf8')
  return frame
}
