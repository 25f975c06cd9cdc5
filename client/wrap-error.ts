import { RoomcastError } from '../shared/errors.js'

/** Any failure as a `RoomcastError` with `code`; one already is passes through unless `wrap`. */
export function asRoomcastError(error: unknown, code: string, message: string, wrap = false): RoomcastError {
  if (error instanceof RoomcastError && !wrap) return error
  const wrapped = new RoomcastError(code, error instanceof Error ? `${message}: ${error.message}` : message)
  wrapped.cause = error
  return wrapped
}
