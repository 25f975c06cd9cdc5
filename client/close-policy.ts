import { AuthRefusedError, parseAuthRefusalReason } from '../shared/auth-refusal.js'
import { CloseAction, ErrorCode, closePolicyOf } from '../shared/codes.js'
import { RoomcastError } from '../shared/errors.js'

/** Upgrade refusals that are about the credentials: the same attempt would be refused again. */
const REFUSING_STATUSES: ReadonlySet<number> = new Set([401, 403])

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
  /**
   * The HTTP status the server answered the upgrade with instead of switching protocols, when the
   * WebSocket implementation tells it (`ws` in Node does, browsers never do).
   */
  upgradeStatus: number | undefined
}

/**
 * Applies the shared close policy (shared/codes.ts `closePolicy`): the error the client ends
 * with after this close, or undefined to reconnect.
 */
export function terminalError(close: Close, context: CloseContext): RoomcastError | undefined {
  const policy = closePolicyOf(close.code)
  switch (policy.action) {
    case CloseAction.Reconnect: {
      // An upgrade refused over HTTP (`refuseUpgradeWith: 'http'`) closes as 1006, like a network failure.
      const status = context.upgradeStatus
      if (status !== undefined && REFUSING_STATUSES.has(status)) return new AuthRefusedError(`authentication refused (HTTP ${status})`, status)
      return undefined
    }
    case CloseAction.EndWhenServerCloses:
      if (close.local) return undefined
      break
    case CloseAction.EndWithoutTransform:
      if (context.transformed) return undefined
      break
    case CloseAction.End:
      break
  }
  if (policy.error === ErrorCode.AuthRefused) return context.refusal ?? authRefusal(close.reason, policy.says)
  if (policy.serverExplains === true) return context.refusal ?? new RoomcastError(policy.error, close.reason || policy.says)
  return new RoomcastError(policy.error, `${policy.says} (${describeClose(close.code, close.reason)})`)
}

/** `code 4004: kicked`, for error messages. */
export function describeClose(code: number, reason: string): string {
  return reason === '' ? `code ${code}` : `code ${code}: ${reason}`
}

/** The error of a 4003 close without an `error` frame before it: an upgrade refused by `authenticateRequest`, say. */
function authRefusal(reason: string, says: string): AuthRefusedError {
  const upgrade = parseAuthRefusalReason(reason)
  if (upgrade !== undefined) return new AuthRefusedError(upgrade.message ?? says, upgrade.status)
  return new AuthRefusedError(reason || says)
}
