/**
 * Checks options against their schema (`option-schema.ts`) and turns the first problem into a
 * coded error a user can act on: the option's full path (`pusher.apps[0].secert`), what it
 * accepts and what it got, or, for a name that does not exist, the nearest valid one.
 */
import { type TObject, type TSchema, type TUnion, Kind } from '@sinclair/typebox'
import { type ValueError, ValueErrorType, Value } from '@sinclair/typebox/value'
import { closestName } from './closest-name.js'
import { InvalidOptionError, UnknownOptionError } from './errors.js'
import { acceptsOf, isRefused } from './option-schema.js'

/**
 * Throws `UnknownOptionError` or `InvalidOptionError` for the first problem the schema finds;
 * returns the value, typed, when there is none. `owner` names what takes the options in messages
 * (`redisAdapter`, `Emitter`); leave it empty for the plugin itself. `at` is the options' own
 * path, when they are a part of larger options checked alone (`pusher.webhooks`).
 */
export function checkOptions<T>(schema: TSchema, value: unknown, owner = '', at: readonly string[] = []): T {
  const problem = firstProblem(schema, value, [])
  if (problem === undefined) return value as T
  const subject = owner === '' ? 'option' : `${owner} option`
  const path = [...at, ...problem.path]
  const name = path.length === 0 ? 'options' : pathName(path)
  if (problem.kind === 'unknown') {
    const key = String(path.at(-1))
    const parentPath = path.slice(0, -1)
    const suggestion = closestName(key, problem.known)
    const hint =
      suggestion !== undefined
        ? `; did you mean "${pathName([...parentPath, suggestion])}"?`
        : ` (${parentPath.length === 0 ? (owner === '' ? 'the options are' : `${owner} takes`) : `${pathName(parentPath)} takes`} ${listOf(problem.known)})`
    throw new UnknownOptionError(`unknown ${subject} "${name}"${hint}`)
  }
  const accepts = acceptsOf(problem.schema) ?? 'something else'
  const label = owner === '' ? name : `${owner} ${name}`
  if (problem.kind === 'missing') throw new InvalidOptionError(`${label} is required: ${accepts}`)
  if (isRefused(problem.schema)) throw new InvalidOptionError(`${label} ${accepts}`)
  throw new InvalidOptionError(`${label} must be ${accepts} (got ${describe(problem.value)})`)
}

/** Throws `InvalidOptionError` with `message` (`roomcast: ` is added): for checks between options the schema cannot make. */
export function invalidOption(message: string): never {
  throw new InvalidOptionError(message)
}

type Segment = string | number

type Problem =
  | { kind: 'unknown'; path: Segment[]; known: string[] }
  | { kind: 'missing'; path: Segment[]; schema: TSchema }
  | { kind: 'invalid'; path: Segment[]; schema: TSchema; value: unknown }

/** The first unknown name if there is one (a misspelt key also looks like a missing one), else the first problem. */
function firstProblem(schema: TSchema, value: unknown, base: Segment[]): Problem | undefined {
  const problems = [...Value.Errors(schema, value)].map((error) => problemOf(schema, value, base, error))
  return problems.find((problem) => problem.kind === 'unknown') ?? problems[0]
}

function problemOf(schema: TSchema, value: unknown, base: Segment[], error: ValueError): Problem {
  const path = [...base, ...segmentsOf(error, value)]
  if (error.type === ValueErrorType.ObjectAdditionalProperties) {
    const properties: Record<string, TSchema> = (parentSchema(schema, value, error) as TObject).properties ?? {}
    return { kind: 'unknown', path, known: Object.keys(properties).filter((key) => !isRefused(properties[key]!)) }
  }
  if (error.type === ValueErrorType.ObjectRequiredProperty) return { kind: 'missing', path, schema: error.schema }
  if (error.type === ValueErrorType.Union) {
    // The variant the value was evidently meant for (an object for `rateLimit: { ... } | false`)
    // names the exact key that is wrong; otherwise the union's own words say what fits.
    const variant = intendedVariant(error.schema as TUnion, error.value)
    const problem = variant === undefined ? undefined : firstProblem(variant, error.value, path)
    if (problem !== undefined) return problem
  }
  return { kind: 'invalid', path, schema: error.schema, value: error.value }
}

/** The path of an error as keys and array indexes, read against the value (a numeric key of an object stays a key). */
function segmentsOf(error: ValueError, root: unknown): Segment[] {
  const segments: Segment[] = []
  let at: unknown = root
  for (const raw of error.path.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    segments.push(Array.isArray(at) ? Number(key) : key)
    at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined
  }
  return segments
}

/** The object schema an unknown key was found in: the schema at the error's parent path. */
function parentSchema(schema: TSchema, value: unknown, error: ValueError): TSchema {
  const segments = segmentsOf(error, value).slice(0, -1)
  let current = schema
  let at: unknown = value
  for (const segment of segments) {
    current = current[Kind] === 'Array' ? current.items : current.properties[segment]
    at = (at as Record<string, unknown>)[segment as string]
  }
  return current[Kind] === 'Union' ? (intendedVariant(current as TUnion, at) ?? current) : current
}

/** The one variant of a union made for values of this shape: a list for an array, an object schema for a plain object. */
function intendedVariant(union: TUnion, value: unknown): TSchema | undefined {
  const shape = Array.isArray(value) ? 'Array' : isPlainObject(value) ? 'Object' : undefined
  if (shape === undefined) return undefined
  const matching = union.anyOf.filter((variant) => variant[Kind] === shape)
  return matching.length === 1 ? matching[0] : undefined
}

function isPlainObject(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false
  const prototype = Object.getPrototypeOf(value)
  return prototype === Object.prototype || prototype === null
}

/** `pusher.apps[0].secret`, `webhooks.retry.maxAttempts`, `headers["x-token"]`. */
export function pathName(path: readonly Segment[]): string {
  let name = ''
  for (const segment of path) {
    if (typeof segment === 'number') name += `[${segment}]`
    else if (/^[A-Za-z_$][\w$]*(\(\))?$/.test(segment)) name += name === '' ? segment : `.${segment}`
    else name += `[${JSON.stringify(segment)}]`
  }
  return name
}

function listOf(names: readonly string[]): string {
  if (names.length === 0) return 'no options'
  return names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`
}

/** What was given, in words: `the string "redis"`, `-1`, `a function`, `an array`. */
export function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  switch (typeof value) {
    case 'string':
      return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value)
    case 'function':
      return 'a function'
    case 'undefined':
      return 'undefined'
    case 'symbol':
      return 'a symbol'
    default: {
      const name = Object.getPrototypeOf(value)?.constructor?.name
      return typeof name === 'string' && name !== '' && name !== 'Object' ? `a ${name}` : 'an object'
    }
  }
}
