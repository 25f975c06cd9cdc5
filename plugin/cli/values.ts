/**
 * Strings from the environment or the command line turned into config values, each kind with
 * a message that names where the string came from when it is not one.
 */
import { ConfigError } from './errors.js'

export type ValueKind = 'string' | 'integer' | 'number' | 'boolean' | 'json' | 'list'

const TRUE = new Set(['1', 'true', 'yes', 'on'])
const FALSE = new Set(['0', 'false', 'no', 'off'])

/** `source` names the variable or flag, for the error message. */
export function parseValue(kind: ValueKind, text: string, source: string): unknown {
  const trimmed = text.trim()
  switch (kind) {
    case 'string':
      return text
    case 'integer':
    case 'number': {
      const value = Number(trimmed)
      if (trimmed === '' || !Number.isFinite(value) || (kind === 'integer' && !Number.isInteger(value))) {
        throw new ConfigError(`${source} must be ${kind === 'integer' ? 'an integer' : 'a number'}, got ${JSON.stringify(text)}`)
      }
      return value
    }
    case 'boolean': {
      const lower = trimmed.toLowerCase()
      if (TRUE.has(lower)) return true
      if (FALSE.has(lower)) return false
      throw new ConfigError(`${source} must be true or false (or 1 or 0), got ${JSON.stringify(text)}`)
    }
    case 'json':
      try {
        return JSON.parse(text) as unknown
      } catch (err) {
        throw new ConfigError(`${source} must be JSON: ${(err as Error).message}`)
      }
    case 'list':
      return trimmed === '*'
        ? '*'
        : trimmed
            .split(',')
            .map((item) => item.trim())
            .filter((item) => item !== '')
  }
}
