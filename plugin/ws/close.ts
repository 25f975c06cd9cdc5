import type WebSocket from 'ws'

/** Close reasons are limited to 123 bytes by RFC 6455 §5.5; ws throws on longer ones. */
const MAX_REASON_BYTES = 123

/** Whether ws accepts `code` as a close code sent on the wire. */
export function isSendableCloseCode(code: number): boolean {
  return Number.isInteger(code) && ((code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999))
}

/** Closes a socket with a caller-supplied code and reason without ever throwing. */
export function closeSocket(ws: WebSocket, code: number, reason: string): void {
  const safeCode = isSendableCloseCode(code) ? code : 1011
  let safeReason = reason
  if (Buffer.byteLength(safeReason) > MAX_REASON_BYTES) {
    safeReason = Buffer.from(safeReason)
      .subarray(0, MAX_REASON_BYTES)
      .toString('utf8')
      .replace(/\uFFFD$/, '')
  }
  ws.close(safeCode, safeReason)
}
