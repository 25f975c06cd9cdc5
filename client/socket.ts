/**
 * The part of a WebSocket the client uses. Browsers' and workers' `WebSocket` and the `ws`
 * package's both fit, so Node programs pass `ws` as the `WebSocket` option.
 */
export interface WebSocketLike {
  readonly readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  /** `ws` only: drops the connection at once, without waiting for a close handshake. */
  terminate?(): void
  addEventListener(type: 'open', listener: () => void): void
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void
  addEventListener(type: 'error', listener: (event: unknown) => void): void
}

export interface WebSocketConstructor {
  new (url: string, protocols?: string | string[]): WebSocketLike
}

/** `WebSocket.OPEN`, the same number everywhere. */
export const OPEN = 1
/** `WebSocket.CONNECTING`. */
export const CONNECTING = 0
