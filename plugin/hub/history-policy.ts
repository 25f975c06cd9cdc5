import type { HistoryPolicy } from './history.js'
import { InvalidHookResultError, InvalidOptionError } from './errors.js'

/** One rule of the `history` option: rooms whose name matches `match` keep `size` publications for `ttl` ms. */
export interface HistoryRule extends HistoryPolicy {
  /** A room name, where `*` stands for any run of characters (`chat:*`). */
  match: string
}

/** The `history` option: rules (the first that matches wins), or a function of the room name. */
export type HistoryOption = readonly HistoryRule[] | ((room: string) => HistoryPolicy | undefined)

/** Which policy, if any, a room's publications follow. Called once per publication: cheap. */
export type HistoryResolver = (room: string) => HistoryPolicy | undefined

/** Bounds of a policy: a stream holds at least one publication and at most this many. */
export const MAX_HISTORY_SIZE = 10_000

/** Checks a policy's bounds; `where` names it in the error. */
export function checkHistoryPolicy(policy: unknown, where: string): HistoryPolicy {
  const { size, ttl } = (policy ?? {}) as Partial<HistoryPolicy>
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > MAX_HISTORY_SIZE) {
    throw new InvalidHookResultError(`${where}.size must be an integer from 1 to ${MAX_HISTORY_SIZE}`)
  }
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0) throw new InvalidHookResultError(`${where}.ttl must be a positive number of ms`)
  return { size, ttl }
}

/**
 * Compiles the `history` option once: rules become anchored patterns tried in order, and a
 * function is wrapped so a policy it returns is checked (a bad one makes the publication throw a
 * TypeError, like bad data would). Undefined when no room keeps history.
 */
export function historyResolver(option: HistoryOption | undefined): HistoryResolver | undefined {
  if (option === undefined) return undefined
  if (typeof option === 'function') {
    return (room) => {
      const policy = option(room)
      return policy === undefined ? undefined : checkHistoryPolicy(policy, 'the history function result')
    }
  }
  if (!Array.isArray(option)) throw new InvalidOptionError('history must be an array of { match, size, ttl } rules or a function')
  if (option.length === 0) return undefined
  const rules = option.map((rule: HistoryRule, index) => {
    if (typeof rule?.match !== 'string' || rule.match.length === 0) throw new InvalidOptionError(`history[${index}].match must be a non-empty string`)
    return { pattern: patternOf(rule.match), policy: checkHistoryPolicy(rule, `history[${index}]`) }
  })
  return (room) => {
    for (const rule of rules) if (rule.pattern.test(room)) return rule.policy
    return undefined
  }
}

/** `chat:*` → /^chat:.*$/s, every other character literal. */
function patternOf(match: string): RegExp {
  const source = match
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
    .join('.*')
  return new RegExp(`^${source}$`, 's')
}
