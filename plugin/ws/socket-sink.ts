import type { Socket } from 'node:net'
import WebSocket from 'ws'
import { corkUntilNextTick } from './cork.js'
import type { PreparedFrame } from '../hub/frame.js'
import type { Sink } from '../hub/sink.js'
import { closeSocket } from './close.js'
import { encodeTextFrame } from './frame-bytes.js'

/** What to do with a message for a socket whose unsent bytes are past the limit. */
export type BackpressurePolicy = 'drop' | 'close'

export interface BackpressureOptions {
  /** Unsent bytes a socket may hold before the policy applies. Default 1 MiB. */
  maxBufferedBytes: number
  /** `drop`: skip the message and count it. `close`: close the socket with 1008. Default `drop`. */
  policy: BackpressurePolicy
}

/** The parts of ws's WebSocket that the pre-framed fast path relies on. Checked at run time. */
interface WebSocketInternals {
  _socket?: Socket
  _sender?: { _state?: number; _queue?: unknown[] }
  _extensions?: Record<string, unknown>
}

/**
 * The hub's sink for one ws socket. When the socket is a plain uncompressed ws connection whose
 * sender has nothing queued, the pre-built frame bytes go straight to the TCP socket (the same
 * buffer for every recipient, as socket.io's adapter does); otherwise it falls back to
 * `ws.send`, which keeps ordering with anything ws has queued itself.
 */
export class SocketSink implements Sink {
  readonly ws: WebSocket
  readonly #raw: Socket | undefined
  readonly #sender: WebSocketInternals['_sender']
  readonly #limits: BackpressureOptions
  readonly #onOverflow: () => void
  /** Messages skipped by the `drop` policy. */
  dropped = 0

  constructor(ws: WebSocket, limits: BackpressureOptions, onOverflow: () => void) {
    this.ws = ws
    this.#limits = limits
    this.#onOverflow = onOverflow
    const internals = ws as unknown as WebSocketInternals
    const compressed = internals._extensions !== undefined && Object.keys(internals._extensions).length > 0
    const usable = internals._socket !== undefined && internals._sender !== undefined && typeof internals._sender._state === 'number'
    this.#raw = usable && !compressed ? internals._socket : undefined
    this.#sender = internals._sender
  }

  /** Writes a frame; false when the socket is not open or the message was dropped. */
  write(frame: PreparedFrame): boolean {
    if (!this.admit()) return false
    this.#send(frame)
    return true
  }

  /**
   * Whether one more message may be queued for this socket now, applying the backpressure
   * policy when not (counted as dropped, or the socket is closed). A transform that turns each
   * message into a frame later (encryption) asks here first, counting what it holds that is
   * not on the socket yet (`pendingBytes`), then writes with `writeAdmitted`.
   */
  admit(pendingBytes = 0): boolean {
    if (this.ws.readyState !== WebSocket.OPEN) return false
    if (this.ws.bufferedAmount + pendingBytes > this.#limits.maxBufferedBytes) {
      if (this.#limits.policy === 'drop') {
        this.dropped++
      } else {
        this.#onOverflow()
      }
      return false
    }
    return true
  }

  /**
   * Writes a frame whose message was already admitted. Never dropped: an encrypted stream
   * must not have gaps, since the receiver refuses any frame out of sequence.
   */
  writeAdmitted(frame: PreparedFrame): boolean {
    if (this.ws.readyState !== WebSocket.OPEN) return false
    this.#send(frame)
    return true
  }

  ping(): void {
    this.ws.ping()
  }

  close(code: number, reason: string): void {
    closeSocket(this.ws, code, reason)
  }

  closed(graceMs: number): Promise<void> {
    const ws = this.ws
    if (ws.readyState === WebSocket.CLOSED) return Promise.resolve()
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        if (ws.readyState !== WebSocket.CLOSED) ws.terminate()
      }, graceMs)
      ws.once('close', () => {
        clearTimeout(timer)
        resolve()
      })
    })
  }

  #send(frame: PreparedFrame): void {
    const raw = this.#raw
    if (raw !== undefined && this.#sender!._state === 0 && this.#sender!._queue!.length === 0 && raw.writable) {
      corkUntilNextTick(raw)
      raw.write(frame.encoded(encodeTextFrame))
    } else {
      this.ws.send(frame.text)
    }
  }
}
