/**
 * `ROOMCAST_*` environment variables: each one sets one key of the configuration (see the
 * README's table). They override the config file and soketi's variables; flags override them.
 */
import type { ConfigLayers, ConfigPath } from './layers.js'
import { parseValue, type ValueKind } from './values.js'

export const ROOMCAST_ENV_PREFIX = 'ROOMCAST_'

/** The variable naming the config file (read by the command itself, not a key). */
export const CONFIG_ENV = 'ROOMCAST_CONFIG'

export interface EnvBinding {
  path: ConfigPath
  kind: ValueKind
}

/** Variable name without the prefix → key. */
export const ROOMCAST_ENV: Readonly<Record<string, EnvBinding>> = {
  COMPAT: { path: ['compat'], kind: 'string' },
  HOST: { path: ['host'], kind: 'string' },
  PORT: { path: ['port'], kind: 'integer' },
  LOG_LEVEL: { path: ['logLevel'], kind: 'string' },
  TLS_CERT: { path: ['tls', 'cert'], kind: 'string' },
  TLS_KEY: { path: ['tls', 'key'], kind: 'string' },
  TLS_PASSPHRASE: { path: ['tls', 'passphrase'], kind: 'string' },
  TLS_CA: { path: ['tls', 'ca'], kind: 'string' },
  APPS: { path: ['apps'], kind: 'json' },
  APP_ID: { path: ['apps', 0, 'id'], kind: 'string' },
  APP_KEY: { path: ['apps', 0, 'key'], kind: 'string' },
  APP_SECRET: { path: ['apps', 0, 'secret'], kind: 'string' },
  APP_DEFAULTS: { path: ['appDefaults'], kind: 'json' },
  PATH_PREFIX: { path: ['pathPrefix'], kind: 'string' },
  ACTIVITY_TIMEOUT: { path: ['activityTimeout'], kind: 'number' },
  CORS_ORIGIN: { path: ['cors', 'origin'], kind: 'list' },
  REDIS_URL: { path: ['redis', 'url'], kind: 'string' },
  REDIS_HOST: { path: ['redis', 'host'], kind: 'string' },
  REDIS_PORT: { path: ['redis', 'port'], kind: 'integer' },
  REDIS_USERNAME: { path: ['redis', 'username'], kind: 'string' },
  REDIS_PASSWORD: { path: ['redis', 'password'], kind: 'string' },
  REDIS_DB: { path: ['redis', 'db'], kind: 'integer' },
  REDIS_KEY_PREFIX: { path: ['redis', 'keyPrefix'], kind: 'string' },
  METRICS: { path: ['metrics', 'enabled'], kind: 'boolean' },
  METRICS_PORT: { path: ['metrics', 'port'], kind: 'integer' },
  METRICS_HOST: { path: ['metrics', 'host'], kind: 'string' },
  METRICS_PREFIX: { path: ['metrics', 'prefix'], kind: 'string' },
  METRICS_PATH: { path: ['metrics', 'path'], kind: 'string' },
  HEALTH: { path: ['health'], kind: 'boolean' },
  SHUTDOWN_GRACE_PERIOD: { path: ['shutdownGracePeriod'], kind: 'number' },
  WEBHOOKS_BATCH_WINDOW_MS: { path: ['webhooks', 'batchWindowMs'], kind: 'number' },
  WEBHOOKS_CLIENT_EVENT_DATA: { path: ['webhooks', 'clientEventData'], kind: 'string' },
  NATIVE_PATH: { path: ['native', 'path'], kind: 'string' },
  NATIVE_AUTH_ENDPOINT: { path: ['native', 'authEndpoint'], kind: 'string' },
  NATIVE_AUTH_REQUEST_TIMEOUT: { path: ['native', 'requestTimeout'], kind: 'number' },
}

/** Applies the `ROOMCAST_*` variables; returns the names of those it does not know. */
export function applyRoomcastEnv(layers: ConfigLayers, env: NodeJS.ProcessEnv): string[] {
  const unknown: string[] = []
  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith(ROOMCAST_ENV_PREFIX) || text === undefined || name === CONFIG_ENV) continue
    const binding = ROOMCAST_ENV[name.slice(ROOMCAST_ENV_PREFIX.length)]
    if (binding === undefined) {
      unknown.push(name)
      continue
    }
    layers.set(binding.path, parseValue(binding.kind, text, name), name)
  }
  return unknown.sort()
}
