import type WebSocket from 'ws'
import { CloseCode } from '../../shared/codes.js'

/**
 * The close code ws sends when it refuses an incoming frame, by ws's error code
 * (ws/lib/receiver.js). After such an error ws stops reading and the socket's error handler
 * (roomcast's or @fastify/websocket's) cuts it, so the socket's own 'close' event reports 1006;
 * the code the peer was sent is the one the server should report too.
 */
const CLOSE_CODES: Readonly<Record<string, number>> = {
  WS_ERR_INVALID_UTF8: CloseCode.InvalidPayload,
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: CloseCode.MessageTooBig,
  WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH: CloseCode.MessageTooBig,
}

export interface CloseReport {
  code: number
  reason: string
}

/**
 * Watches a socket for frames ws refuses. The returned function turns the code and reason a close
 * was reported with into what happened: the refusal's code (1007 invalid UTF-8, 1009 too large) when
 * there was one. Call it after the socket's error handler is in place.
 */
export function watchRefusedFrames(ws: WebSocket): (code: number, reason: string) => CloseReport {
  let refused: CloseReport | undefined
  ws.on('error', (error: Error & { code?: string }) => {
    const code = error.code === undefined ? undefined : CLOSE_CODES[error.code]
    if (code !== undefined && refused === undefined) refused = { code, reason: error.message }
  })
  return (code, reason) => refused ?? { code, reason }
}
