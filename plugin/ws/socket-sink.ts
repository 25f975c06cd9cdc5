import type { Socket } from 'node:net'
import WebSocket from 'ws'
import { writeThisTurn } from './cork.js'
import type { StreamPosition } from '../../shared/envelope.js'
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
  /**
   * `drop` policy: messages that may be dropped in a row, without the socket catching up in
   * between, before it is closed like under `close`; a reader that never reads is not kept
   * forever. `Infinity` for no bound. Default 1000.
   */
  maxDropped: number
}

/** What the writer tells its connection about; the protocol decides what goes on the wire. */
export interface BackpressureEvents {
  /** The socket fell too far behind (`close` policy, or `maxDropped` reached): close it. Called once. */
  overflow(): void
  /**
   * The socket can take frames again after `count` messages were dropped: tell the peer, whose
   * stream now has a gap. Called before the next frame is written, or as soon as the socket
   * drains. `rooms`: for rooms with history, the position of the first publication dropped in
   * each since the last notice (absent when none had one). Absent: the protocol has no way to say it.
   */
  caughtUp?(count: number, rooms?: Record<string, StreamPosition>): void
}

/** A close as the server reports it: the code and reason that apply. */
export interface CloseReport {
  code: number
  reason: string
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
export class SocketSink<P extends BackpressureEvents = BackpressureEvents> implements Sink {
  readonly ws: WebSocket
  readonly #raw: Socket | undefined
  readonly #sender: WebSocketInternals['_sender']
  readonly #limits: BackpressureOptions
  /** The session this socket's events and backpressure go to (`attachPeer`). */
  peer: P | undefined
  /** The connection is over for the server and its session was told (`attachPeer`). */
  peerGone = false
  /** The close code ws sent the peer when it refused a frame (`attachPeer`). */
  refused: CloseReport | undefined
  /** The TCP socket, compressed or not: its 'drain' says when a backlog is gone. */
  readonly #tcp: Socket | undefined
  /** Messages skipped by the `drop` policy. */
  dropped = 0
  /** Messages dropped since the socket last caught up: the gap the peer has not been told of. */
  #unreported = 0
  /** The first unreported dropped publication of each room with history. No prototype: a room may be called "__proto__". */
  #gaps: Record<string, StreamPosition> | undefined
  #overflowed = false
  #watchingDrain = false

  constructor(ws: WebSocket, limits: BackpressureOptions) {
    this.ws = ws
    this.#limits = limits
    const internals = ws as unknown as WebSocketInternals
    const compressed = internals._extensions !== undefined && Object.keys(internals._extensions).length > 0
    const usable = internals._socket !== undefined && internals._sender !== undefined && typeof internals._sender._state === 'number'
    this.#raw = usable && !compressed ? internals._socket : undefined
    this.#tcp = internals._socket
    this.#sender = internals._sender
  }

  /** Writes a frame; false when the socket is not open or the message was dropped. */
  write(frame: PreparedFrame): boolean {
    if (!this.admit(0, frame)) return false
    this.#send(frame)
    return true
  }

  /**
   * Whether one more message may be queued for this socket now, applying the backpressure
   * policy when not (counted as dropped, or the socket is closed). A transform that turns each
   * message into a frame later (encryption) asks here first, counting what it holds that is
   * not on the socket yet (`pendingBytes`), then writes with `writeAdmitted`.
   */
  admit(pendingBytes = 0, frame?: PreparedFrame): boolean {
    if (this.ws.readyState !== WebSocket.OPEN || this.#overflowed) return false
    if (this.ws.bufferedAmount + pendingBytes > this.#limits.maxBufferedBytes) {
      if (this.#limits.policy === 'drop' && this.#unreported < this.#limits.maxDropped) {
        this.dropped++
        this.#unreported++
        if (frame?.position !== undefined) {
          const gaps = (this.#gaps ??= Object.create(null) as Record<string, StreamPosition>)
          gaps[frame.room!] ??= frame.position
        }
        this.#watchDrain()
      } else {
        // Once only: closing may write a last frame (Pusher's `pusher:error`), which lands here again.
        this.#overflowed = true
        this.peer?.overflow()
      }
      return false
    }
    if (this.#unreported > 0) this.#reportGap()
    return true
  }

  /** Tells the connection of the gap; the notice goes out before the frame being admitted. */
  #reportGap(): void {
    const count = this.#unreported
    const gaps = this.#gaps
    this.#unreported = 0
    this.#gaps = undefined
    this.peer?.caughtUp?.(count, gaps)
  }

  /**
   * A reader that catches up but is sent nothing more would never hear of its gap: the TCP
   * socket's 'drain' (ws emits none of its own) reports it without waiting for the next frame.
   * A limit below the socket's high-water mark may never raise 'drain'; the next frame reports then.
   */
  #watchDrain(): void {
    const tcp = this.#tcp
    if (this.#watchingDrain || tcp === undefined) return
    this.#watchingDrain = true
    tcp.once('drain', () => {
      this.#watchingDrain = false
      if (this.#unreported === 0 || this.ws.readyState !== WebSocket.OPEN) return
      if (this.ws.bufferedAmount <= this.#limits.maxBufferedBytes) this.#reportGap()
      else this.#watchDrain()
    })
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

  /** Bytes read from the TCP socket so far, WebSocket framing included (for metrics). */
  get bytesRead(): number {
    return this.#tcp?.bytesRead ?? 0
  }

  /** Bytes written to the TCP socket so far, WebSocket framing included (for metrics). */
  get bytesWritten(): number {
    return this.#tcp?.bytesWritten ?? 0
  }

  ping(): void {
    this.ws.ping()
  }

  close(code: number, reason: string): void {
    closeSocket(this.ws, code, reason)
  }

  get isClosed(): boolean {
    return this.ws.readyState === WebSocket.CLOSED
  }

  closed(graceMs?: number): Promise<void> {
    const ws = this.ws
    if (ws.readyState === WebSocket.CLOSED) return Promise.resolve()
    return new Promise<void>((resolve) => {
      const timer =
        graceMs === undefined
          ? undefined
          : setTimeout(() => {
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
      writeThisTurn(raw, frame.encoded(encodeTextFrame))
    } else {
      this.ws.send(frame.text)
    }
  }
}
