import { CloseAction, closePolicyOf } from '../shared/codes.js'
import { RoomcastError } from '../shared/errors.js'

/** A closed connection, as the client saw it. */
export interface Close {
  code: number
  reason: string
  /** This side closed it (`#drop`): a stalled server, an attempt given up on. */
  local: boolean
}

/** What the client knows about itself that the policy depends on. */
export interface CloseContext {
  /** Whether the client runs a transform (client-to-server encryption). */
  transformed: boolean
  /** The server's refusal of this attempt's `authenticate`, sent before its 4003 close. */
  refusal: RoomcastError | undefined
}

/**
 * Applies the shared close policy (shared/codes.ts `closePolicy`): the error the client ends
 * with after this close, or undefined to reconnect.
 */
export function terminalError(close: Close, context: CloseContext): RoomcastError | undefined {
  const policy = closePolicyOf(close.code)
  switch (policy.action) {
    case CloseAction.Reconnect:
      return undefined
    case CloseAction.EndWhenServerCloses:
      if (close.local) return undefined
      break
    case CloseAction.EndWithoutTransform:
      if (context.transformed) return undefined
      break
    case CloseAction.End:
      break
  }
  if (policy.serverExplains === true) return context.refusal ?? new RoomcastError(policy.error, close.reason || policy.says)
  return new RoomcastError(policy.error, `${policy.says} (${describeClose(close.code, close.reason)})`)
}

/** `code 4004: kicked`, for error messages. */
export function describeClose(code: number, reason: string): string {
  return reason === '' ? `code ${code}` : `code ${code}: ${reason}`
}
