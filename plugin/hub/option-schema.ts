/**
 * Building blocks of the options schemas (the plugin's, Pusher's, the Redis adapter's, the
 * Emitter's). Each block is a TypeBox schema that also carries `accepts`: what a user reads after
 * "must be" when a value does not fit (`checkOptions` writes the message). What JSON Schema cannot
 * describe (functions with given methods, URLs, a refused name) is a custom kind checked by code,
 * still inside the same schema, so every problem is reported the same way.
 */
import { Kind, type SchemaOptions, type TProperties, type TSchema, Type, TypeRegistry, type TUnsafe } from '@sinclair/typebox'

/** Longest delay `setTimeout` and `setInterval` honour; a longer one fires at once. */
export const MAX_TIMER_DELAY = 2_147_483_647

/** `accepts` on every block: the words of the error message. */
export interface Accepts extends SchemaOptions {
  accepts: string
}

/** The text a schema gives after "must be", if it has one. */
export function acceptsOf(schema: TSchema): string | undefined {
  return typeof schema.accepts === 'string' ? schema.accepts : undefined
}

/** An object of options: every key optional unless marked required, any other key refused (and named, with a suggestion). */
export function optionsObject<P extends TProperties>(properties: P, accepts = 'an object of options') {
  return Type.Object(properties, { additionalProperties: false, accepts })
}

export function positiveNumber(accepts = 'a positive number') {
  return Type.Number({ exclusiveMinimum: 0, accepts })
}

export function positiveInteger(accepts = 'a positive integer') {
  return Type.Integer({ minimum: 1, accepts })
}

/** A number of at least `minimum` (webhook timings, where 0 means "none"). */
export function atLeast(minimum: number, unit = '') {
  return Type.Number({ minimum, accepts: `a number of at least ${minimum}${unit}` })
}

/** A delay or period that a timer waits for, in ms. */
export function delay() {
  return Type.Number({ exclusiveMinimum: 0, maximum: MAX_TIMER_DELAY, accepts: `a positive number of milliseconds, at most ${MAX_TIMER_DELAY}` })
}

export function boolean() {
  return Type.Boolean({ accepts: 'true or false' })
}

export function nonEmptyString(accepts = 'a non-empty string') {
  return Type.String({ minLength: 1, accepts })
}

/** An absolute route path. */
export function routePath(example: string) {
  return Type.String({ pattern: '^/', accepts: `a path starting with "/", e.g. "${example}"` })
}

/** One of a few strings: `oneOf(['drop', 'close'])` accepts "'drop' or 'close'". */
export function oneOf<const V extends readonly string[]>(values: V): TUnsafe<V[number]> {
  const quoted = values.map((value) => `'${value}'`)
  const accepts = quoted.length === 1 ? quoted[0]! : `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`
  return Type.Unsafe<V[number]>(
    Type.Union(
      values.map((value) => Type.Literal(value)),
      { accepts },
    ),
  )
}

/** The value `false`, where an option can be turned off. */
export function off() {
  return Type.Literal(false, { accepts: 'false' })
}

/** An option that takes a function; `signature` shows its parameters and result. */
export function callback<T = (...args: never[]) => unknown>(signature: string): TUnsafe<T> {
  return Type.Unsafe<T>({ [Kind]: 'RoomcastFunction', accepts: `a function ${signature}` })
}

/**
 * An object known by what it can do (an adapter, an ioredis client, an app lookup): it has each
 * method. Such objects are classes with state, which a JSON schema cannot describe.
 */
export function withMethods<T>(methods: readonly string[], accepts: string): TUnsafe<T> {
  return Type.Unsafe<T>({ [Kind]: 'RoomcastMethods', methods, accepts })
}

/** Any object (a JSON Web Key, a header map): its content is checked where it is used. */
export function anyObject<T>(accepts: string): TUnsafe<T> {
  return Type.Unsafe<T>({ [Kind]: 'RoomcastObject', accepts })
}

/** An `http:` or `https:` URL, as a string. */
export function httpUrl() {
  return Type.Unsafe<string>({ [Kind]: 'RoomcastHttpUrl', accepts: 'an http(s) URL' })
}

/** A name that was an option once, or that belongs elsewhere: always refused, with `reason`. */
export function refused(reason: string): TUnsafe<never> {
  return Type.Unsafe<never>({ [Kind]: 'RoomcastRefused', accepts: reason, refused: true })
}

/** `true` when a schema's keys are exactly an interface's; otherwise a type naming the difference. */
export type KeysAgree<P extends TProperties, I> = [Exclude<keyof I, keyof P>, Exclude<keyof P, keyof I>] extends [never, never]
  ? true
  : { missingFromSchema: Exclude<keyof I, keyof P>; notInInterface: Exclude<keyof P, keyof I> }

/** Fails the typecheck, showing the names, when a schema and its interface disagree (`Agree<KeysAgree<...>>`). */
export type Agree<T extends true> = T

/** Whether the schema is a `refused` block. */
export function isRefused(schema: TSchema): boolean {
  return schema.refused === true
}

function isObjectLike(value: unknown): value is Record<string, unknown> {
  return (typeof value === 'object' && value !== null) || typeof value === 'function'
}

TypeRegistry.Set('RoomcastFunction', (_schema, value) => typeof value === 'function')
TypeRegistry.Set<{ methods: readonly string[] }>(
  'RoomcastMethods',
  (schema, value) => isObjectLike(value) && !Array.isArray(value) && schema.methods.every((method) => typeof value[method] === 'function'),
)
TypeRegistry.Set('RoomcastObject', (_schema, value) => typeof value === 'object' && value !== null && !Array.isArray(value))
TypeRegistry.Set('RoomcastHttpUrl', (_schema, value) => {
  if (typeof value !== 'string') return false
  try {
    const { protocol } = new URL(value)
    return protocol === 'http:' || protocol === 'https:'
  } catch {
    return false
  }
})
TypeRegistry.Set('RoomcastRefused', (_schema, value) => value === undefined)
