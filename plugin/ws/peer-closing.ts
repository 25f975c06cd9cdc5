import type { EventEmitter } from 'node:events'
import type WebSocket from 'ws'

/** The parts of ws's WebSocket that tell of a close before its `close` event. Checked at run time. */
interface ClosingInternals {
  /** ws's frame parser; emits `conclude` (code, reason) the moment a close frame is parsed. */
  _receiver?: EventEmitter | null
  /** The TCP socket. */
  _socket?: EventEmitter | null
}

/** What ws reports for a connection that ended without a close frame. */
const ABNORMAL_CLOSURE = 1006

/**
 * Calls `onClosing(code, reason)` once, as soon as the connection is over for the server: the
 * peer's close frame arrived, or the TCP socket ended or failed.
 *
 * ws's own `close` event comes only after the closing handshake and the TCP teardown: a client
 * that sends its close frame and then stalls keeps the socket for up to ws's 30 s close timer,
 * and a connection forgotten on `close` would stay in its rooms, presence and counts as long.
 * ws has no public event for "close frame received", so this listens to its receiver's
 * `conclude` event (emitted right after ws records the peer's code, with that code and reason)
 * and to the TCP socket's `end` / `error`. Each is looked up at run time; when ws's internals
 * differ, the `close` event, always listened to as well, is the fallback. Callers must stay
 * idempotent: `close` still fires later, and may fire first.
 */
export function onPeerClosing(ws: WebSocket, onClosing: (code: number, reason: string) => void): void {
  let done = false
  const once = (code: number, reason: string): void => {
    if (done) return
    done = true
    onClosing(code, reason)
  }
  const internals = ws as unknown as ClosingInternals
  const receiver = internals._receiver
  if (receiver != null && typeof receiver.on === 'function') {
    receiver.on('conclude', (code: unknown, reason: unknown) => {
      once(typeof code === 'number' ? code : ABNORMAL_CLOSURE, Buffer.isBuffer(reason) ? reason.toString('utf8') : '')
    })
  }
  const socket = internals._socket
  if (socket != null && typeof socket.on === 'function') {
    socket.on('end', () => once(ABNORMAL_CLOSURE, ''))
    socket.on('error', () => once(ABNORMAL_CLOSURE, ''))
  }
  ws.on('close', (code, reason) => once(code, reason.toString()))
}
