import type { Static, TSchema } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { Value } from '@sinclair/typebox/value'
import type { ErrorDetail } from './envelope.js'

/** A compiled check for one schema. */
export interface Validator<T = unknown> {
  check(value: unknown): value is T
  /** The first `max` failures as `{ path, message }`, for error replies. */
  errors(value: unknown, max?: number): ErrorDetail[]
}

const cache = new WeakMap<TSchema, Validator>()

/**
 * Returns the cached validator of a schema, compiling it on first use. Compilation generates code
 * with `new Function`; under a Content-Security-Policy that forbids it (browsers without
 * 'unsafe-eval') it falls back to TypeBox's interpreter, which is slower but always available.
 */
export function validatorFor<S extends TSchema>(schema: S): Validator<Static<S>> {
  let validator = cache.get(schema)
  if (validator === undefined) {
    validator = compile(schema)
    cache.set(schema, validator)
  }
  return validator as Validator<Static<S>>
}

function compile(schema: TSchema): Validator {
  try {
    const compiled = TypeCompiler.Compile(schema)
    return {
      check: (value): value is unknown => compiled.Check(value),
      errors: (value, max = 10) => collect(compiled.Errors(value), max),
    }
  } catch {
    return {
      check: (value): value is unknown => Value.Check(schema, value),
      errors: (value, max = 10) => collect(Value.Errors(schema, value), max),
    }
  }
}

function collect(iterable: Iterable<{ path: string; message: string }>, max: number): ErrorDetail[] {
  const out: ErrorDetail[] = []
  for (const error of iterable) {
    out.push({ path: error.path === '' ? '/' : error.path, message: error.message })
    if (out.length >= max) break
  }
  return out
}
