/**
 * The standalone server: Fastify with the plugin configured from a `ServerPlan`, soketi's
 * `GET /` and `GET /ready`, Redis when configured (ioredis loaded only then), metrics on the
 * main port or on a listener of their own, and a graceful stop.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Redis as RedisClass, RedisOptions } from 'ioredis'
import type { Registry } from 'prom-client'
import type { AnyEvents } from '../../shared/events.js'
import roomcast, { type RoomcastOptions, redisAdapter } from '../index.js'
import { MissingPeerError } from './errors.js'
import { NativeAuthEndpoint } from './native-auth.js'
import type { RedisPlan, ServerPlan } from './plan.js'

/** Longest wait for clients' close handshakes once the drain is over, in ms. */
const CLOSE_HANDSHAKE_MS = 2_000

export interface StandaloneServer {
  app: FastifyInstance
  /** The main listener's URL (`http(s)://host:port`). */
  url: string
  /** The metrics listener's URL, when metrics have a port of their own. */
  metricsUrl: string | undefined
  /**
   * Drains (readiness false, clients closed gradually: native 4005, Pusher 4200) for at most
   * `gracePeriod` ms, then closes the rest (native 1001, Pusher 4200), flushes webhooks within
   * their bound and stops every listener and connection.
   */
  stop(gracePeriod: number): Promise<void>
}

async function importOptional<T>(name: string, feature: string): Promise<T> {
  try {
    return (await import(name)) as T
  } catch (err) {
    throw new MissingPeerError(
      `${feature} is configured, but the ${name} package could not be loaded (${(err as Error).message}); install it with \`npm install ${name}\``,
    )
  }
}

/** A template client for the Redis adapter (it duplicates it; this one never connects). */
async function redisClient(plan: RedisPlan): Promise<RedisClass> {
  const { Redis } = await importOptional<typeof import('ioredis')>('ioredis', 'redis')
  const options: RedisOptions = { lazyConnect: true, db: plan.db }
  if (plan.username !== undefined) options.username = plan.username
  if (plan.password !== undefined) options.password = plan.password
  if (plan.url !== undefined) return new Redis(plan.url, options)
  return new Redis({ ...options, host: plan.host, port: plan.port })
}

function urlOf(app: FastifyInstance, tls: boolean): string {
  const address = app.server.address()
  if (address === null || typeof address === 'string') return String(address)
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return `${tls ? 'https' : 'http'}://${host}:${address.port}`
}

/** soketi's probes: `GET /` answers OK while the process runs, `GET /ready` while it takes connections. */
function registerSoketiProbes(app: FastifyInstance, health: () => { ready: boolean; reasons: string[] }): void {
  app.get('/', async (_request, reply) => reply.header('cache-control', 'no-store').type('text/plain').send('OK'))
  app.get('/ready', async (_request, reply) => {
    reply.header('cache-control', 'no-store')
    const { ready, reasons } = health()
    if (ready) return reply.type('text/plain').send('OK')
    return reply.code(503).send({ ready: false, reasons })
  })
}

export async function startStandalone(plan: ServerPlan, warnings: readonly string[] = []): Promise<StandaloneServer> {
  // No trustProxy: `ip` is the peer's address; behind a proxy the endpoint reads the forwarded X-Forwarded-For itself.
  const serverOptions: FastifyServerOptions & { https?: unknown } = { logger: { level: plan.logLevel } }
  if (plan.tls !== undefined) serverOptions.https = plan.tls
  const app = Fastify(serverOptions as FastifyServerOptions)
  const log: FastifyBaseLogger = app.log
  for (const warning of warnings) log.warn(`roomcast: ${warning}`)
  if (plan.defaultCredentials) log.warn('roomcast: no app is configured; using the development credentials app-id / app-key / app-secret')

  const redis = plan.redis === undefined ? undefined : await redisClient(plan.redis)
  let registry: Registry | undefined
  if (plan.metrics?.port !== undefined) {
    const promClient = await importOptional<typeof import('prom-client')>('prom-client', 'metrics')
    registry = new promClient.Registry()
  }
  const native = plan.native === undefined ? undefined : new NativeAuthEndpoint(plan.native.auth, log)

  // The standalone server knows no application's events or user ids: any event, any identity.
  const options: RoomcastOptions<AnyEvents, string | undefined> = {
    pusher: { ...plan.pusher, apps: plan.apps },
    health: plan.health,
    // Close handshakes after the drain: short, so a dead peer cannot hold the stop much past the grace period.
    closeGracePeriod: Math.max(1, Math.min(plan.shutdownGracePeriod, CLOSE_HANDSHAKE_MS)),
  }
  if (native !== undefined && plan.native !== undefined) {
    options.path = plan.native.path
    options.authenticateRequest = native.authenticateRequest
    options.authenticate = native.authenticate
    options.authorizeJoin = native.authorizeJoin
  } else {
    // Without an authentication endpoint the native protocol is off: nobody may open it anonymously.
    options.authenticateRequest = () => ({ refuse: true, statusCode: 404, message: 'the native protocol is not enabled on this server' })
  }
  if (redis !== undefined && plan.redis !== undefined) {
    options.adapter = redisAdapter({ redis, keyPrefix: plan.redis.keyPrefix, requestTimeout: plan.redis.requestTimeout })
  }
  if (plan.metrics !== undefined) {
    options.metrics = {
      prefix: plan.metrics.prefix,
      defaultMetrics: plan.metrics.defaultMetrics,
      route: registry === undefined ? plan.metrics.path : false,
      registry,
    }
  }

  let metricsApp: FastifyInstance | undefined
  try {
    // The same type outside this repository; here the example chat's `RoomcastTypes` declaration is
    // compiled alongside and narrows the default, which this server does not use.
    await app.register(roomcast, options as RoomcastOptions)
    const health = () => app.roomcast.health()
    if (plan.health) registerSoketiProbes(app, health)
    await app.listen({ host: plan.host, port: plan.port })
    if (registry !== undefined && plan.metrics?.port !== undefined) {
      const served = registry
      metricsApp = Fastify({ loggerInstance: log.child({ listener: 'metrics' }) })
      metricsApp.get(plan.metrics.path, async (_request, reply) => reply.type(served.contentType).send(await served.metrics()))
      if (plan.health) registerSoketiProbes(metricsApp, health)
      await metricsApp.listen({ host: plan.metrics.host, port: plan.metrics.port })
    }
  } catch (err) {
    await Promise.allSettled([app.close(), metricsApp?.close()])
    redis?.disconnect()
    throw err
  }

  let stopping: Promise<void> | undefined
  const stop = async (gracePeriod: number): Promise<void> => {
    log.info({ gracePeriod }, 'roomcast: shutting down')
    if (gracePeriod > 0) {
      const connections = app.roomcast.connections.count()
      // Everyone is asked to leave within the first half of the grace period; the rest of it is for their close handshakes.
      const perSecond = Math.max(100, Math.ceil(connections / (gracePeriod / 2_000)))
      let timer: NodeJS.Timeout | undefined
      await Promise.race([app.roomcast.connections.drain({ perSecond }), new Promise<void>((resolve) => (timer = setTimeout(resolve, gracePeriod)))])
      clearTimeout(timer)
    }
    await app.close()
    await metricsApp?.close()
    redis?.disconnect()
    log.info('roomcast: stopped')
  }

  return {
    app,
    url: urlOf(app, plan.tls !== undefined),
    metricsUrl: metricsApp === undefined ? undefined : urlOf(metricsApp, false),
    stop: (gracePeriod) => (stopping ??= stop(gracePeriod)),
  }
}
