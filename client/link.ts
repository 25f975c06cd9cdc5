import { ErrorCode } from '../shared/codes.js'
import { RoomcastError } from '../shared/errors.js'
import { CONNECTING, OPEN, type WebSocketConstructor, type WebSocketLike } from './socket.js'
import type { ClientTransformFactory, FrameTransform, TransformHandshake } from './transform.js'

export interface LinkHandlers {
  /** The socket is open and the transform handshake (if any) is done. */
  opened(): void
  /** One received frame, decoded: the JSON text of an envelope. */
  received(text: string): void
  /**
   * The socket closed on its own (server, network). Not called after `close()`. `upgradeStatus`:
   * the HTTP status the server refused the upgrade with, when the WebSocket implementation tells.
   */
  closed(code: number, reason: string, upgradeStatus: number | undefined): void
  /** Something went wrong on this link; when `fatal`, the client must drop it. */
  failed(error: RoomcastError, fatal: boolean): void
}

/**
 * One WebSocket connection attempt: opens the socket, runs the transform handshake, and keeps
 * frames in order through an asynchronous transform in both directions. The client makes a
 * new link for every attempt and never reuses one.
 */
export class Link {
  readonly #socket: WebSocketLike
  readonly #handlers: LinkHandlers
  readonly #factory: ClientTransformFactory | undefined
  readonly #abort = new AbortController()
  #transform: FrameTransform | undefined
  #handshake: HandshakeChannel | undefined
  #inbound: Promise<void> = Promise.resolve()
  #outbound: Promise<void> = Promise.resolve()
  #done = false
  /** The HTTP status of a refused upgrade, as `ws` reports it in its error (browsers never tell). */
  #upgradeStatus: number | undefined

  constructor(url: string, WebSocket: WebSocketConstructor, factory: ClientTransformFactory | undefined, handlers: LinkHandlers) {
    this.#handlers = handlers
    this.#factory = factory
    const socket = new WebSocket(url)
    this.#socket = socket
    socket.addEventListener('open', () => this.#onOpen())
    socket.addEventListener('message', (event) => this.#onMessage(event.data))
    socket.addEventListener('close', (event) => this.#onClose(event.code, event.reason))
    // A failing socket always closes as well; the close reports it. This listener must stay
    // so that `ws` never sees an 'error' without a listener.
    socket.addEventListener('error', (event) => {
      this.#upgradeStatus ??= upgradeStatusOf(event)
    })
  }

  /** Whether frames on this link pass through a transform. */
  get transformed(): boolean {
    return this.#transform !== undefined
  }

  /** Sends an envelope's JSON text; false when the socket cannot take it. */
  send(text: string): boolean {
    if (this.#done || this.#socket.readyState !== OPEN) return false
    const transform = this.#transform
    if (transform === undefined) {
      this.#socket.send(text)
      return true
    }
    this.#outbound = this.#outbound
      .then(() => transform.encode(text))
      .then(
        (wire) => {
          if (!this.#done && this.#socket.readyState === OPEN) this.#socket.send(wire)
        },
        (error: unknown) => this.#fail(ErrorCode.EncryptionFailed, 'a frame could not be encoded', error),
      )
    return true
  }

  /**
   * Ends the link from this side; no handler is called afterwards. `abandon` drops a socket
   * that cannot be trusted to answer (dead server) without waiting for a close handshake.
   */
  close(code: number, reason: string, abandon = false): void {
    if (this.#done) return
    this.#end()
    const socket = this.#socket
    if (socket.readyState !== OPEN && socket.readyState !== CONNECTING) return
    if (abandon && typeof socket.terminate === 'function') {
      socket.terminate()
      return
    }
    try {
      socket.close(code, reason)
    } catch {
      socket.close()
    }
  }

  #end(): void {
    this.#done = true
    this.#abort.abort()
    this.#handshake?.fail(new RoomcastError(ErrorCode.Disconnected, 'the connection closed during the handshake'))
    this.#handshake = undefined
    this.#transform?.dispose?.()
  }

  #onOpen(): void {
    if (this.#done) return
    if (this.#factory === undefined) {
      this.#handlers.opened()
      return
    }
    const channel = new HandshakeChannel(this.#socket, this.#abort.signal)
    this.#handshake = channel
    let started: Promise<FrameTransform | undefined>
    try {
      started = this.#factory.handshake(channel)
    } catch (error) {
      started = Promise.reject(error)
    }
    started.then(
      (transform) => {
        if (this.#done) {
          transform?.dispose?.()
          return
        }
        this.#handshake = undefined
        this.#transform = transform
        this.#handlers.opened()
        // Frames that arrived after the handshake's last receive() belong to the session.
        for (const text of channel.leftovers()) this.#onMessage(text)
      },
      (error: unknown) => this.#fail(ErrorCode.EncryptionFailed, 'the transform handshake failed', error),
    )
  }

  #onMessage(data: unknown): void {
    if (this.#done) return
    if (typeof data !== 'string') {
      this.#handlers.failed(new RoomcastError(ErrorCode.BinaryNotSupported, 'the server sent a binary frame; it was ignored'), false)
      return
    }
    if (this.#handshake !== undefined) {
      this.#handshake.push(data)
      return
    }
    const transform = this.#transform
    if (transform === undefined) {
      this.#handlers.received(data)
      return
    }
    this.#inbound = this.#inbound
      .then(() => transform.decode(data))
      .then(
        (text) => {
          if (!this.#done) this.#handlers.received(text)
        },
        (error: unknown) => this.#fail(ErrorCode.EncryptionFailed, 'a received frame was refused by the transform', error),
      )
  }

  #onClose(code: number, reason: string): void {
    if (this.#done) return
    this.#end()
    this.#handlers.closed(code, reason, this.#upgradeStatus)
  }

  #fail(code: string, message: string, cause: unknown): void {
    if (this.#done) return
    const error = new RoomcastError(code, cause instanceof Error ? `${message}: ${cause.message}` : message)
    error.cause = cause
    this.#handlers.failed(error, true)
  }
}

/** What `ws` says when the server answers the upgrade with anything but 101 (ws/lib/websocket.js). */
const UNEXPECTED_RESPONSE = /^Unexpected server response: (\d{3})$/

/** The HTTP status in a `ws` error event about a refused upgrade; undefined for any other error, and in browsers. */
function upgradeStatusOf(event: unknown): number | undefined {
  const message = (event as { message?: unknown } | null)?.message
  if (typeof message !== 'string') return undefined
  const match = UNEXPECTED_RESPONSE.exec(message)
  return match === null ? undefined : Number(match[1])
}

/** The raw frame channel a transform handshake talks through. */
class HandshakeChannel implements TransformHandshake {
  readonly signal: AbortSignal
  readonly #socket: WebSocketLike
  #frames: string[] = []
  #waiters: Array<{ resolve: (text: string) => void; reject: (error: Error) => void }> = []
  #error: Error | undefined

  constructor(socket: WebSocketLike, signal: AbortSignal) {
    this.#socket = socket
    this.signal = signal
  }

  send(text: string): void {
    if (this.#error === undefined && this.#socket.readyState === OPEN) this.#socket.send(text)
  }

  receive(): Promise<string> {
    const frame = this.#frames.shift()
    if (frame !== undefined) return Promise.resolve(frame)
    if (this.#error !== undefined) return Promise.reject(this.#error)
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }))
  }

  push(text: string): void {
    const waiter = this.#waiters.shift()
    if (waiter !== undefined) waiter.resolve(text)
    else this.#frames.push(text)
  }

  fail(error: Error): void {
    this.#error = error
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error)
  }

  leftovers(): string[] {
    const frames = this.#frames
    this.#frames = []
    return frames
  }
}
