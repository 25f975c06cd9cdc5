import type { PreparedFrame } from './frame.js'

/**
 * What the hub needs of a connection's socket, whatever carries it (a WebSocket today; an SSE
 * stream would be another implementation). The transport owns the backpressure policy: `admit`
 * applies it, counting a refused message as dropped or closing the socket.
 */
export interface Sink {
  /** Messages skipped by the `drop` backpressure policy. */
  readonly dropped: number
  /** Writes a frame; false when the socket is not open or the message was dropped. */
  write(frame: PreparedFrame): boolean
  /**
   * Whether one more message may be queued now, applying the backpressure policy when not. A
   * transform that turns each message into a frame later (encryption) asks here first, counting
   * what it holds that is not on the socket yet (`pendingBytes`), then writes with `writeAdmitted`.
   * `frame`, when given, is the message asked about: a dropped publication's position is reported.
   */
  admit(pendingBytes?: number, frame?: PreparedFrame): boolean
  /** Writes a frame whose message was already admitted; never dropped. */
  writeAdmitted(frame: PreparedFrame): boolean
  /** A transport-level liveness probe (a WebSocket ping); the answer updates `lastSeen`. */
  ping(): void
  /** Closes the socket with a caller-supplied code and reason, never throwing. */
  close(code: number, reason: string): void
  /** Whether the socket has closed (its closing handshake and teardown are over). */
  readonly isClosed: boolean
  /** Resolves once the socket has closed; with `graceMs`, cuts it when still open by then. */
  closed(graceMs?: number): Promise<void>
}
