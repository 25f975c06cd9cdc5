import { ErrorCode } from './codes.js'
import { RoomcastError } from './errors.js'

/** Starts the close reason of an upgrade that `authenticateRequest` refused (close code 4003). */
const REASON_PREFIX = 'auth_refused:'
const REASON = /^auth_refused:(\d{3})(?: (.*))?$/s

/**
 * The close reason that carries an upgrade refusal to clients that cannot read the HTTP status of
 * a failed upgrade (browsers see only 1006): `auth_refused:401 authentication refused`. The
 * server cuts it to the 123 bytes a close reason may have, at a character boundary.
 */
export function authRefusalReason(status: number, message: string): string {
  return message === '' ? `${REASON_PREFIX}${status}` : `${REASON_PREFIX}${status} ${message}`
}

/** The status and message of an `authRefusalReason`, or undefined for any other close reason. */
export function parseAuthRefusalReason(reason: string): { status: number; message: string | undefined } | undefined {
  const match = REASON.exec(reason)
  if (match === null) return undefined
  return { status: Number(match[1]), message: match[2] === '' ? undefined : match[2] }
}

/**
 * Authentication was refused for good: before the upgrade (`authenticateRequest`), with the HTTP
 * status it was refused with, or in-band (`authenticate`), without one. The client's `ready()`
 * rejects with it and its `disconnected` event carries it; the client does not reconnect.
 */
export class AuthRefusedError extends RoomcastError {
  /** The refusal's HTTP status (401, 403) when the upgrade was refused; undefined for an in-band refusal. */
  readonly status: number | undefined

  constructor(message: string, status?: number) {
    super(ErrorCode.AuthRefused, message)
    this.name = 'AuthRefusedError'
    this.status = status
  }
}
