/**
 * The seam for per-connection frame transformation (client-to-server encryption, `clientEncryption()`). A factory runs a
 * handshake on every new socket, after it opens and before `authenticate`, and may return a
 * transform that every later frame passes through, in both directions, in order. The client's
 * public API does not change with or without one: handlers still get typed payloads.
 */
export interface FrameTransform {
  /** Turns an outgoing envelope's JSON text into the text put on the wire. */
  encode(text: string): string | Promise<string>
  /** Turns a received frame back into envelope JSON text. Throw (or reject) to refuse the frame: the connection is then dropped. */
  decode(text: string): string | Promise<string>
  /** Called once when the connection ends, to drop keys. */
  dispose?(): void
}

/** What a handshake gets to talk to the server before the connection carries app traffic. */
export interface TransformHandshake {
  /** Sends a raw text frame, untransformed. */
  send(text: string): void
  /** The next raw frame from the server; rejects when the socket closes. */
  receive(): Promise<string>
  /** Aborted when the socket closes or the client gives the connection up. */
  readonly signal: AbortSignal
}

export interface ClientTransformFactory {
  /**
   * Query parameters added to the socket URL, so the server knows before the first frame that
   * this connection will be transformed (and sends nothing, not even `connected`, before).
   */
  readonly query?: Readonly<Record<string, string>>
  /**
   * Runs once per connection. Resolves with the connection's transform, or `undefined` to stay
   * plaintext. A rejection is reported as an `encryption_failed` error and ends the client
   * (closed with 4011, not retried: the same handshake would fail again). Frames the handshake did not `receive()` are processed normally
   * (through the transform) once it resolves.
   */
  handshake(channel: TransformHandshake): Promise<FrameTransform | undefined>
}
