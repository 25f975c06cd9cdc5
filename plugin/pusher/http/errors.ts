/**
 * Failures of the Pusher HTTP API. Every one is answered with its real HTTP status and the
 * body `{ "error": "<text>", "code": <status> }` (soketi's shape, Pusher's statuses): the
 * `pusher` SDK rejects on any status >= 400, so an error must never arrive as a 200.
 */

/** The statuses the API answers with, and when. */
export const PusherHttpStatus = {
  /** Malformed JSON, a body or query that fails its schema, a bad channel or event name, too many channels or events, an unknown `info` attribute. */
  BadRequest: 400,
  /** Missing or wrong auth parameters: key, version, timestamp outside the window, body_md5, signature. */
  Unauthorized: 401,
  /** The app exists but is disabled. */
  Forbidden: 403,
  /** No app has this id, or no route has this path and method. */
  NotFound: 404,
  /** The request body exceeds the body limit, or one event's data exceeds the app's payload limit. */
  PayloadTooLarge: 413,
  /** The app's backend-event or read rate limit was reached. */
  TooManyRequests: 429,
  /** The server failed (an app lookup threw, say); logged. */
  InternalError: 500,
  /**
   * The health route while the server drains or shuts down; an event the cluster bus (Redis)
   * did not take (this node's subscribers got it, the other nodes' did not); an app lookup that
   * did not answer within `hookTimeout`.
   */
  Unavailable: 503,
} as const

export interface PusherHttpErrorBody {
  error: string
  code: number
}

export class PusherHttpError extends Error {
  readonly status: number
  /** Headers that go with the answer (`Retry-After` for 429). */
  readonly headers: Readonly<Record<string, string>>

  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message)
    this.name = 'PusherHttpError'
    this.status = status
    this.headers = headers
  }

  get body(): PusherHttpErrorBody {
    return errorBody(this.status, this.message)
  }
}

export function errorBody(status: number, message: string): PusherHttpErrorBody {
  return { error: message, code: status }
}

export const badRequest = (message: string): PusherHttpError => new PusherHttpError(PusherHttpStatus.BadRequest, message)
export const unauthorized = (message: string): PusherHttpError => new PusherHttpError(PusherHttpStatus.Unauthorized, message)
