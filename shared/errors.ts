import type { ErrorDetail } from './envelope.js'

/**
 * An error that carries a wire error code. Thrown by application handlers on the server, its
 * code and message are sent to the client as they are (any other thrown error is reported as
 * `handler_error` without its message, so internals do not leak). The client rejects requests
 * with it.
 */
export class RoomcastError extends Error {
  readonly code: string
  readonly details: ErrorDetail[] | undefined

  constructor(code: string, message: string, details?: ErrorDetail[]) {
    super(message)
    this.name = 'RoomcastError'
    this.code = code
    this.details = details
  }
}
