/**
 * soketi's environment variables (`SOKETI_*`, as documented by soketi 1.x), so that a soketi
 * deployment moves by swapping the command. Each supported variable sets the roomcast key it
 * means; soketi's server-wide limits become `appDefaults`; its webhook and app records are
 * converted from soketi's field names. A variable this server cannot honour is reported by
 * name (a warning), or refused when ignoring it would change what clients see (another adapter
 * or app store).
 */
import { ConfigError } from './errors.js'
import type { EnvBinding } from './env.js'
import type { ConfigLayers } from './layers.js'
import { parseValue } from './values.js'

export const SOKETI_ENV_PREFIX = 'SOKETI_'

/** soketi's defaults where they differ from Pusher's: the `compat: 'soketi'` preset. */
export const SOKETI_APP_DEFAULTS = {
  maxPresenceMemberSizeKb: 2,
  maxChannelNameLength: 200,
  maxEventPayloadKb: 100,
  maxClientEventsPerSecond: -1,
} as const

/** soketi's default app credentials, used when a `SOKETI_DEFAULT_APP_*` variable names only some of them. */
export const SOKETI_DEFAULT_APP = { id: 'app-id', key: 'app-key', secret: 'app-secret' } as const

/** Plain variables: name without the prefix → key. */
const BINDINGS: Readonly<Record<string, EnvBinding>> = {
  HOST: { path: ['host'], kind: 'string' },
  PORT: { path: ['port'], kind: 'integer' },
  PATH_PREFIX: { path: ['pathPrefix'], kind: 'string' },
  DEFAULT_APP_ID: { path: ['apps', 0, 'id'], kind: 'string' },
  DEFAULT_APP_KEY: { path: ['apps', 0, 'key'], kind: 'string' },
  DEFAULT_APP_SECRET: { path: ['apps', 0, 'secret'], kind: 'string' },
  DEFAULT_APP_MAX_CONNS: { path: ['apps', 0, 'maxConnections'], kind: 'number' },
  DEFAULT_APP_ENABLE_CLIENT_MESSAGES: { path: ['apps', 0, 'enableClientMessages'], kind: 'boolean' },
  DEFAULT_APP_ENABLED: { path: ['apps', 0, 'enabled'], kind: 'boolean' },
  DEFAULT_APP_MAX_BACKEND_EVENTS_PER_SEC: { path: ['apps', 0, 'maxBackendEventsPerSecond'], kind: 'number' },
  DEFAULT_APP_MAX_CLIENT_EVENTS_PER_SEC: { path: ['apps', 0, 'maxClientEventsPerSecond'], kind: 'number' },
  DEFAULT_APP_MAX_READ_REQ_PER_SEC: { path: ['apps', 0, 'maxReadRequestsPerSecond'], kind: 'number' },
  DEFAULT_APP_USER_AUTHENTICATION: { path: ['apps', 0, 'enableUserAuthentication'], kind: 'boolean' },
  ADAPTER_REDIS_PREFIX: { path: ['redis', 'keyPrefix'], kind: 'string' },
  ADAPTER_REDIS_REQUESTS_TIMEOUT: { path: ['redis', 'requestTimeout'], kind: 'number' },
  DB_REDIS_HOST: { path: ['redis', 'host'], kind: 'string' },
  DB_REDIS_PORT: { path: ['redis', 'port'], kind: 'integer' },
  DB_REDIS_DB: { path: ['redis', 'db'], kind: 'integer' },
  DB_REDIS_USERNAME: { path: ['redis', 'username'], kind: 'string' },
  DB_REDIS_PASSWORD: { path: ['redis', 'password'], kind: 'string' },
  DB_REDIS_KEY_PREFIX: { path: ['redis', 'keyPrefix'], kind: 'string' },
  SSL_CERT: { path: ['tls', 'cert'], kind: 'string' },
  SSL_KEY: { path: ['tls', 'key'], kind: 'string' },
  SSL_PASS: { path: ['tls', 'passphrase'], kind: 'string' },
  SSL_CA: { path: ['tls', 'ca'], kind: 'string' },
  METRICS_ENABLED: { path: ['metrics', 'enabled'], kind: 'boolean' },
  METRICS_SERVER_PORT: { path: ['metrics', 'port'], kind: 'integer' },
  METRICS_HOST: { path: ['metrics', 'host'], kind: 'string' },
  METRICS_PROMETHEUS_PREFIX: { path: ['metrics', 'prefix'], kind: 'string' },
  SHUTDOWN_GRACE_PERIOD: { path: ['shutdownGracePeriod'], kind: 'number' },
  USER_AUTHENTICATION_TIMEOUT: { path: ['userAuthenticationTimeout'], kind: 'number' },
  WEBHOOKS_BATCHING_DURATION: { path: ['webhooks', 'batchWindowMs'], kind: 'number' },
  PRESENCE_MAX_MEMBERS: { path: ['appDefaults', 'maxPresenceMembers'], kind: 'number' },
  PRESENCE_MAX_MEMBER_SIZE: { path: ['appDefaults', 'maxPresenceMemberSizeKb'], kind: 'number' },
  // soketi's code reads CHANNEL_LIMITS_MAX_NAME_LENGTH; its documentation says CHANNEL_MAX_NAME_LENGTH.
  CHANNEL_LIMITS_MAX_NAME_LENGTH: { path: ['appDefaults', 'maxChannelNameLength'], kind: 'number' },
  CHANNEL_MAX_NAME_LENGTH: { path: ['appDefaults', 'maxChannelNameLength'], kind: 'number' },
  CHANNEL_CACHE_TTL: { path: ['appDefaults', 'cacheTtl'], kind: 'number' },
  EVENT_MAX_CHANNELS_AT_ONCE: { path: ['appDefaults', 'maxEventChannelsAtOnce'], kind: 'number' },
  EVENT_MAX_NAME_LENGTH: { path: ['appDefaults', 'maxEventNameLength'], kind: 'number' },
  EVENT_MAX_SIZE_IN_KB: { path: ['appDefaults', 'maxEventPayloadKb'], kind: 'number' },
  EVENT_MAX_BATCH_SIZE: { path: ['appDefaults', 'maxEventBatchSize'], kind: 'number' },
}

/** Variables read by the special cases below. */
const SPECIAL = new Set([
  'DEBUG',
  'DEFAULT_APP_WEBHOOKS',
  'APP_MANAGER_DRIVER',
  'APP_MANAGER_ARRAY_APPS',
  'ADAPTER_DRIVER',
  'METRICS_DRIVER',
  'WEBHOOKS_BATCHING',
  'HTTP_MAX_REQUEST_SIZE',
  'MODE',
])

type Record_ = Record<string, unknown>

function isRecord(value: unknown): value is Record_ {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** soketi's webhook record (`event_types`, `filter.channel_name_starts_with`, ...) as roomcast's. */
export function fromSoketiWebhook(webhook: unknown, source: string): Record_ {
  if (!isRecord(webhook)) throw new ConfigError(`${source}: each webhook must be an object`)
  const { url, event_types, filter, headers, lambda_function, lambda, ...rest } = webhook
  if (lambda_function !== undefined || lambda !== undefined) throw new ConfigError(`${source}: AWS Lambda webhooks are not supported; give the webhook a url`)
  const unknown = Object.keys(rest)
  if (unknown.length > 0) throw new ConfigError(`${source}: unknown webhook field ${unknown.join(', ')}`)
  const out: Record_ = { url }
  if (event_types !== undefined) out.eventTypes = event_types
  if (headers !== undefined) out.headers = headers
  if (filter !== undefined) {
    if (!isRecord(filter)) throw new ConfigError(`${source}: a webhook's filter must be an object`)
    const { channel_name_starts_with, channel_name_ends_with, ...other } = filter
    if (Object.keys(other).length > 0) throw new ConfigError(`${source}: unknown webhook filter ${Object.keys(other).join(', ')}`)
    out.filter = {
      ...(channel_name_starts_with === undefined ? {} : { channelNamePrefix: channel_name_starts_with }),
      ...(channel_name_ends_with === undefined ? {} : { channelNameSuffix: channel_name_ends_with }),
    }
  }
  return out
}

/** soketi app fields whose roomcast name differs; the others (`id`, `maxConnections`, ...) are the same. */
const APP_FIELD_NAMES: Readonly<Record<string, string>> = {
  maxPresenceMembersPerChannel: 'maxPresenceMembers',
  maxPresenceMemberSizeInKb: 'maxPresenceMemberSizeKb',
  maxEventPayloadInKb: 'maxEventPayloadKb',
}

/** A soketi app record (array driver) as roomcast's; unknown fields are left for the schema to name. */
export function fromSoketiApp(app: unknown, source: string): Record_ {
  if (!isRecord(app)) throw new ConfigError(`${source}: each app must be an object`)
  const out: Record_ = {}
  for (const [field, value] of Object.entries(app)) {
    if (field === 'webhooks') {
      if (!Array.isArray(value)) throw new ConfigError(`${source}: an app's webhooks must be a list`)
      out.webhooks = value.map((webhook) => fromSoketiWebhook(webhook, source))
    } else {
      out[APP_FIELD_NAMES[field] ?? field] = value
    }
  }
  return out
}

export interface SoketiEnvResult {
  /** Whether any `SOKETI_*` variable is set (the soketi preset then applies unless `compat` says otherwise). */
  present: boolean
  /** Variables set that this server does not honour. */
  unsupported: string[]
}

/** Applies the `SOKETI_*` variables to the configuration. */
export function applySoketiEnv(layers: ConfigLayers, env: NodeJS.ProcessEnv): SoketiEnvResult {
  const names = Object.keys(env)
    .filter((name) => name.startsWith(SOKETI_ENV_PREFIX) && env[name] !== undefined)
    .sort()
  const unsupported: string[] = []
  const text = (short: string): string | undefined => env[SOKETI_ENV_PREFIX + short]

  // Like soketi: a default-app variable completes soketi's default app, unless an app is configured already.
  if (names.some((name) => name.startsWith(`${SOKETI_ENV_PREFIX}DEFAULT_APP_`)) && layers.get(['apps', 0]) === undefined) {
    for (const [field, value] of Object.entries(SOKETI_DEFAULT_APP)) layers.set(['apps', 0, field], value, 'soketi defaults')
  }

  for (const name of names) {
    const short = name.slice(SOKETI_ENV_PREFIX.length)
    const binding = BINDINGS[short]
    if (binding !== undefined) layers.set(binding.path, parseValue(binding.kind, env[name]!, name), name)
    else if (!SPECIAL.has(short)) unsupported.push(name)
  }

  const debug = text('DEBUG')
  if (debug !== undefined && parseValue('boolean', debug, `${SOKETI_ENV_PREFIX}DEBUG`) === true) layers.set(['logLevel'], 'debug', `${SOKETI_ENV_PREFIX}DEBUG`)

  const appDriver = text('APP_MANAGER_DRIVER')
  if (appDriver !== undefined && appDriver !== 'array') {
    throw new ConfigError(
      `${SOKETI_ENV_PREFIX}APP_MANAGER_DRIVER=${appDriver} is not supported: apps come from the config file or the environment (the array driver)`,
    )
  }
  const arrayApps = text('APP_MANAGER_ARRAY_APPS')
  if (arrayApps !== undefined) {
    const source = `${SOKETI_ENV_PREFIX}APP_MANAGER_ARRAY_APPS`
    const apps = parseValue('json', arrayApps, source)
    if (!Array.isArray(apps)) throw new ConfigError(`${source} must be a JSON list of apps`)
    layers.set(
      ['apps'],
      apps.map((app) => fromSoketiApp(app, source)),
      source,
    )
  }
  const webhooks = text('DEFAULT_APP_WEBHOOKS')
  if (webhooks !== undefined) {
    const source = `${SOKETI_ENV_PREFIX}DEFAULT_APP_WEBHOOKS`
    const list = parseValue('json', webhooks, source)
    if (!Array.isArray(list)) throw new ConfigError(`${source} must be a JSON list of webhooks`)
    layers.set(
      ['apps', 0, 'webhooks'],
      list.map((webhook) => fromSoketiWebhook(webhook, source)),
      source,
    )
  }

  const adapter = text('ADAPTER_DRIVER')
  if (adapter === 'redis' || adapter === 'local') {
    layers.set(['redis', 'enabled'], adapter === 'redis', `${SOKETI_ENV_PREFIX}ADAPTER_DRIVER`)
  } else if (adapter !== undefined) {
    throw new ConfigError(`${SOKETI_ENV_PREFIX}ADAPTER_DRIVER=${adapter} is not supported: use redis (several nodes) or local (one node)`)
  } else if (names.some((name) => name.startsWith(`${SOKETI_ENV_PREFIX}DB_REDIS_`)) && layers.get(['redis', 'enabled']) === undefined) {
    // soketi reads its DB_REDIS_* variables only for the drivers that use Redis: alone they start no adapter.
    layers.set(['redis', 'enabled'], false, `${SOKETI_ENV_PREFIX}ADAPTER_DRIVER (unset)`)
  }

  const metricsDriver = text('METRICS_DRIVER')
  if (metricsDriver !== undefined && metricsDriver !== 'prometheus') unsupported.push(`${SOKETI_ENV_PREFIX}METRICS_DRIVER`)
  const mode = text('MODE')
  if (mode !== undefined && mode !== 'full') unsupported.push(`${SOKETI_ENV_PREFIX}MODE`)

  const batching = text('WEBHOOKS_BATCHING')
  if (batching !== undefined) {
    const source = `${SOKETI_ENV_PREFIX}WEBHOOKS_BATCHING`
    const on = parseValue('boolean', batching, source) === true
    // soketi batches for 50 ms unless told otherwise.
    if (on && text('WEBHOOKS_BATCHING_DURATION') === undefined) layers.set(['webhooks', 'batchWindowMs'], 50, source)
    if (!on) layers.set(['webhooks', 'batchWindowMs'], 0, source)
  }
  const bodyLimit = text('HTTP_MAX_REQUEST_SIZE')
  if (bodyLimit !== undefined) {
    const source = `${SOKETI_ENV_PREFIX}HTTP_MAX_REQUEST_SIZE`
    // Megabytes in soketi.
    layers.set(['http', 'bodyLimit'], Math.round((parseValue('number', bodyLimit, source) as number) * 1024 * 1024), source)
  }

  if (names.length > 0 && layers.get(['compat']) === undefined) layers.set(['compat'], 'soketi', 'SOKETI_* variables')
  return { present: names.length > 0, unsupported: [...new Set(unsupported)].sort() }
}
