/**
 * Loads the standalone server's configuration: the layers in order of precedence (defaults <
 * config file < `SOKETI_*` < `ROOMCAST_*` < flags), then one check against the schema, whose
 * errors name the key's path and where its value came from.
 */
import { readFileSync } from 'node:fs'
import { type TSchema, TypeGuard } from '@sinclair/typebox'
import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value'
import { type Config, ConfigSchema } from './config-schema.js'
import { applyRoomcastEnv } from './env.js'
import { ConfigError } from './errors.js'
import { ConfigLayers, type ConfigPath, formatPath } from './layers.js'
import { applySoketiEnv } from './soketi-env.js'

export interface LoadedConfig {
  config: Config
  /** Things worth a warning at start-up: variables that are set but not honoured. */
  warnings: string[]
}

export interface ConfigInputs {
  /** Path of the JSON config file, if any. */
  file: string | undefined
  env: NodeJS.ProcessEnv
  /** Values from command-line flags, by key path. */
  flags: readonly { path: ConfigPath; value: unknown; source: string }[]
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new ConfigError(`cannot read the config file ${path}: ${(err as Error).message}`)
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new ConfigError(`the config file ${path} is not valid JSON: ${(err as Error).message}`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(`the config file ${path} must hold a JSON object`)
  return value as Record<string, unknown>
}

export function loadConfig(inputs: ConfigInputs): LoadedConfig {
  const layers = new ConfigLayers()
  const warnings: string[] = []
  if (inputs.file !== undefined) layers.merge(readConfigFile(inputs.file), inputs.file)
  const soketi = applySoketiEnv(layers, inputs.env)
  if (soketi.unsupported.length > 0) warnings.push(`soketi variables not supported by roomcast, ignored: ${soketi.unsupported.join(', ')}`)
  const unknown = applyRoomcastEnv(layers, inputs.env)
  if (unknown.length > 0) warnings.push(`unknown ROOMCAST_* variables, ignored: ${unknown.join(', ')}`)
  for (const flag of inputs.flags) layers.set(flag.path, flag.value, flag.source)
  return { config: validate(layers), warnings }
}

/** At most this many problems are listed; the first ones are enough to fix the file. */
const MAX_LISTED = 10

function validate(layers: ConfigLayers): Config {
  const value = layers.value
  if (Value.Check(ConfigSchema, value)) return value
  const seen = new Set<string>()
  const lines: string[] = []
  for (const error of Value.Errors(ConfigSchema, value)) {
    const path = pointerToPath(error.path)
    const where = formatPath(path)
    if (seen.has(where)) continue
    seen.add(where)
    const source = layers.sourceOf(path)
    lines.push(`  ${where}${source === undefined ? '' : ` (from ${source})`}: ${describe(error)}`)
    if (lines.length === MAX_LISTED) break
  }
  throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`)
}

/** `/apps/0/secret` → `['apps', 0, 'secret']`. */
function pointerToPath(pointer: string): ConfigPath {
  if (pointer === '') return []
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part))
}

/** A message in the user's words: what the key accepts, or that it is unknown and which keys exist. */
function describe(error: ValueError): string {
  const schema = error.schema
  if (error.type === ValueErrorType.ObjectAdditionalProperties) {
    // The schema here is the enclosing object's: its keys are the ones that would have been accepted.
    const known = TypeGuard.IsObject(schema) ? Object.keys(schema.properties) : []
    return known.length === 0 ? 'unknown key' : `unknown key (known keys: ${known.join(', ')})`
  }
  if (error.type === ValueErrorType.ObjectRequiredProperty) return 'is required'
  const accepted = acceptedValues(schema)
  if (accepted !== undefined) return `must be one of ${accepted}, got ${JSON.stringify(error.value)}`
  const message = error.message.replace(/^Expected (integer|array|object)\b/, 'Expected an $1').replace(/^Expected (number|string|boolean)\b/, 'Expected a $1')
  return `${message.replace(/^Expected/, 'must be').replace(' to be ', ' ')}, got ${JSON.stringify(error.value)}`
}

/** For a union of literals (or an object/literal union), the accepted values in words. */
function acceptedValues(schema: TSchema): string | undefined {
  if (!TypeGuard.IsUnion(schema)) return undefined
  return schema.anyOf.map((member) => (TypeGuard.IsLiteral(member) ? JSON.stringify(member.const) : (member.type ?? 'a value'))).join(', ')
}
