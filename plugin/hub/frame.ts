import type { StreamPosition } from '../../shared/envelope.js'

/**
 * A server→client text message, encoded once per transport and written as the same bytes to
 * every recipient. The transport brings its encoder (a WebSocket text frame, an SSE event);
 * the first one used is kept in a field, so the common case allocates no map.
 */
export class PreparedFrame {
  readonly text: string
  /**
   * A publication to a room with history: the room and its place in the room's stream, so a
   * connection can hold it back during a replay and a sink that drops it can say where the
   * client's gap begins.
   */
  readonly room: string | undefined
  readonly position: StreamPosition | undefined
  #encoder: FrameEncoder | undefined
  #bytes: Buffer | undefined
  #others: Map<FrameEncoder, Buffer> | undefined

  constructor(text: string, room?: string, position?: StreamPosition) {
    this.text = text
    this.room = room
    this.position = position
  }

  /** The frame's bytes in one transport's encoding, built on first use. */
  encoded(encoder: FrameEncoder): Buffer {
    if (this.#encoder === encoder) return this.#bytes!
    if (this.#encoder === undefined) {
      this.#encoder = encoder
      return (this.#bytes = encoder(this.text))
    }
    let bytes = this.#others?.get(encoder)
    if (bytes === undefined) {
      bytes = encoder(this.text)
      ;(this.#others ??= new Map()).set(encoder, bytes)
    }
    return bytes
  }
}

/** Turns a message's text into the bytes one transport puts on the wire. */
export type FrameEncoder = (text: string) => Buffer
