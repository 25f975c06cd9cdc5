/**
 * The validated configuration turned into what the server is made of: the listener, TLS, the
 * plugin's options, Redis, the metrics listener and the shutdown budget. Defaults live here,
 * in one place, with the `compat: 'soketi'` preset applied under whatever the user set.
 */
import { readFileSync } from 'node:fs'
import type { PusherAppConfig, PusherOptions, WebhookOptions } from '../index.js'
import type { AppConfig, Config } from './config-schema.js'
import { ConfigError } from './errors.js'
import { DEFAULT_FORWARD_HEADERS, type NativeAuthSettings } from './native-auth.js'
import { SOKETI_APP_DEFAULTS, SOKETI_DEFAULT_APP } from './soketi-env.js'

export const DEFAULT_PORT = 6001
export const DEFAULT_HOST = '0.0.0.0'
/** soketi's metrics port, used in the soketi preset when metrics are on and no port is given. */
export const SOKETI_METRICS_PORT = 9601
export const DEFAULT_SHUTDOWN_GRACE_PERIOD = 3_000
/** pusher-js pings after this many seconds of silence in the soketi preset (soketi's value). */
const SOKETI_ACTIVITY_TIMEOUT = 30
const DEFAULT_NATIVE_REQUEST_TIMEOUT = 5_000

export interface TlsFiles {
  cert: Buffer
  key: Buffer
  passphrase?: string
  ca?: Buffer
}

export interface RedisPlan {
  url: string | undefined
  host: string
  port: number
  username: string | undefined
  password: string | undefined
  db: number
  keyPrefix: string | undefined
  requestTimeout: number | undefined
}

export interface MetricsPlan {
  prefix: string | undefined
  path: string
  defaultMetrics: boolean
  /** A listener of its own (soketi's layout), or undefined for the main port. */
  port: number | undefined
  host: string
}

export interface ServerPlan {
  compat: 'pusher' | 'soketi'
  host: string
  port: number
  logLevel: string
  tls: TlsFiles | undefined
  apps: PusherAppConfig[]
  /** True when no app was configured and soketi's development credentials are in use. */
  defaultCredentials: boolean
  pusher: Omit<PusherOptions, 'apps'>
  redis: RedisPlan | undefined
  metrics: MetricsPlan | undefined
  health: boolean
  shutdownGracePeriod: number
  native: { path: string; auth: NativeAuthSettings } | undefined
}

function readTlsFile(key: string, path: string): Buffer {
  try {
    return readFileSync(path)
  } catch (err) {
    throw new ConfigError(`tls.${key}: cannot read ${path}: ${(err as Error).message}`)
  }
}

function appWithDefaults(app: AppConfig, defaults: Config['appDefaults']): PusherAppConfig {
  const { webhooks, ...fields } = app
  const merged: PusherAppConfig = { ...defaults, ...fields }
  if (webhooks !== undefined) merged.webhooks = webhooks
  return merged
}

export function planServer(config: Config): ServerPlan {
  const compat = config.compat ?? 'pusher'
  const soketi = compat === 'soketi'
  const appDefaults = { ...(soketi ? SOKETI_APP_DEFAULTS : {}), ...config.appDefaults }
  const defaultCredentials = config.apps === undefined
  const apps = (config.apps ?? [{ ...SOKETI_DEFAULT_APP }]).map((app) => appWithDefaults(app, appDefaults))
  const shutdownGracePeriod = config.shutdownGracePeriod ?? DEFAULT_SHUTDOWN_GRACE_PERIOD

  const webhooks: WebhookOptions = {
    // Queued webhooks get the shutdown's grace period to go out, unless told otherwise.
    closeTimeoutMs: shutdownGracePeriod,
    clientEventData: soketi ? 'as-sent' : 'string',
    ...config.webhooks,
  }
  const cors = config.cors === false ? false : { origin: config.cors?.origin ?? '*', credentials: config.cors?.credentials, maxAge: config.cors?.maxAge }
  const pusher: Omit<PusherOptions, 'apps'> = {
    pathPrefix: config.pathPrefix,
    activityTimeout: config.activityTimeout ?? (soketi ? SOKETI_ACTIVITY_TIMEOUT : undefined),
    userAuthenticationTimeout: config.userAuthenticationTimeout,
    maxChannelsPerConnection: config.maxChannelsPerConnection,
    webhooks,
    http: config.http?.enabled === false ? false : { bodyLimit: config.http?.bodyLimit, cors },
  }

  const redisConfig = config.redis
  const redisOn =
    redisConfig !== undefined &&
    redisConfig.enabled !== false &&
    (redisConfig.enabled === true || redisConfig.url !== undefined || redisConfig.host !== undefined)
  const redis: RedisPlan | undefined = redisOn
    ? {
        url: redisConfig.url,
        host: redisConfig.host ?? '127.0.0.1',
        port: redisConfig.port ?? 6379,
        username: redisConfig.username,
        password: redisConfig.password,
        db: redisConfig.db ?? 0,
        keyPrefix: redisConfig.keyPrefix,
        requestTimeout: redisConfig.requestTimeout,
      }
    : undefined

  const host = config.host ?? DEFAULT_HOST
  const port = config.port ?? DEFAULT_PORT
  const metricsConfig = config.metrics
  let metrics: MetricsPlan | undefined
  if (metricsConfig?.enabled === true) {
    const metricsPort = metricsConfig.port ?? (soketi ? SOKETI_METRICS_PORT : undefined)
    metrics = {
      prefix: metricsConfig.prefix,
      path: metricsConfig.path ?? '/metrics',
      defaultMetrics: metricsConfig.defaultMetrics ?? true,
      port: metricsPort !== undefined && (metricsPort !== port || metricsPort === 0) ? metricsPort : undefined,
      host: metricsConfig.host ?? host,
    }
  }

  const tls = config.tls === undefined ? undefined : tlsFiles(config.tls)
  const native =
    config.native === undefined
      ? undefined
      : {
          path: config.native.path ?? '/ws',
          auth: {
            endpoint: config.native.authEndpoint,
            requestTimeout: config.native.requestTimeout ?? DEFAULT_NATIVE_REQUEST_TIMEOUT,
            forwardHeaders: config.native.forwardHeaders ?? DEFAULT_FORWARD_HEADERS,
          },
        }

  return {
    compat,
    host,
    port,
    logLevel: config.logLevel ?? 'info',
    tls,
    apps,
    defaultCredentials,
    pusher,
    redis,
    metrics,
    health: config.health ?? true,
    shutdownGracePeriod,
    native,
  }
}

function tlsFiles(tls: NonNullable<Config['tls']>): TlsFiles {
  const files: TlsFiles = { cert: readTlsFile('cert', tls.cert), key: readTlsFile('key', tls.key) }
  if (tls.passphrase !== undefined) files.passphrase = tls.passphrase
  if (tls.ca !== undefined) files.ca = readTlsFile('ca', tls.ca)
  return files
}
