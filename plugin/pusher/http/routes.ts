/**
 * The Pusher HTTP API as Fastify routes, `[pathPrefix]/apps/:appId/...`, so the `pusher` SDK
 * (and the other official SDKs, which sign the same way) works by changing host and port.
 *
 * The routes live in an encapsulated context of their own: its raw-body parser (the signature
 * covers the exact body bytes), error and not-found handlers (every failure is
 * `{ error, code }` with its real status) and CORS never touch the application's other
 * routes. One wildcard route takes GET and POST and the path is read in `api-path.ts`, so
 * channel names, user ids and app ids of any length are routed whatever the server's
 * `maxParamLength`. Per request: body limit (413) → route (404; broken percent-encoding 400)
 * → app lookup (404) → signature (401) → app enabled (403) → JSON and schemas (400) → rate
 * limit (429) → the app's limits (400/413). The body is only read as JSON once the request
 * is known to be signed, so an unsigned caller learns nothing from how its body is parsed.
 */
import type { TSchema, Static } from '@sinclair/typebox'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../../shared/json-depth.js'
import { validatorFor } from '../../../shared/validator.js'
import type { Hub } from '../../hub/hub.js'
import { HookTimeoutError } from '../../hub/hook-timeout.js'
import type { PusherApp } from '../apps.js'
import { badRequest, errorBody, PusherHttpError, PusherHttpStatus } from './errors.js'
import type { ResolvedPusherHttpOptions } from './options.js'
import { busUnavailable, checkBatch, checkEvent, isBusUnavailable, pointsOf, publishEvent, type ChannelAttributes } from './publish.js'
import { channelState, channelUsers, listChannels } from './reads.js'
import { defaultHttpRateLimiter } from './rate-limiter.js'
import { verifySignedRequest } from './request-auth.js'
import { AnyQuery, BatchBody, ChannelQuery, ChannelsQuery, EventBody, UsersQuery } from './schemas.js'
import type { PusherService } from '../service.js'
import { apiEndpointOf, type ApiEndpoint } from './api-path.js'
import { cors } from './cors.js'
import { MalformedApiUrls } from './malformed-urls.js'

/** Answers whose counts leave out nodes that did not answer in time carry their ids here. */
export const MISSING_NODES_HEADER = 'x-roomcast-missing-nodes'

type RateKind = 'events' | 'reads'

/** A request that passed routing, authentication and validation: what the handler works with. */
interface Accepted {
  endpoint: ApiEndpoint
  app: PusherApp
  /** The JSON body, for the endpoints that take one; checked against their schema. */
  body: unknown
}

export async function registerPusherHttpRoutes(app: FastifyInstance, hub: Hub, service: PusherService, options: ResolvedPusherHttpOptions): Promise<void> {
  const pathPrefix = service.options.pathPrefix
  const apiRoot = `${pathPrefix}/apps`
  /** Segments of `[pathPrefix]/apps`: what comes after them names the endpoint. */
  const rootSegments = apiRoot.split('/').length
  if (options.healthPath !== false) {
    app.get(options.healthPath, async (_request, reply) => {
      if (!hub.accepting) return reply.code(PusherHttpStatus.Unavailable).send(errorBody(PusherHttpStatus.Unavailable, 'The server is shutting down.'))
      return { ok: true, node: hub.nodeId }
    })
  }

  const rateLimiter = options.rateLimiter ?? defaultHttpRateLimiter(hub.adapter)
  const malformed = new MalformedApiUrls(apiRoot)
  const stopWatching = malformed.watch(app.server)
  app.addHook('onClose', async () => stopWatching())

  await app.register(
    async (api) => {
      const rawBodies = new WeakMap<FastifyRequest, Buffer>()
      const accepted = new WeakMap<FastifyRequest, Accepted>()

      // Whatever the content type (curl sends none): the bytes are kept as they are, for
      // body_md5, and read as JSON only after the signature (see `authenticate`).
      api.removeAllContentTypeParsers()
      api.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.bodyLimit }, (request, body, done) => {
        rawBodies.set(request, body as Buffer)
        done(null, undefined)
      })

      api.setErrorHandler((error: FastifyError | PusherHttpError | HookTimeoutError, request, reply) => {
        if (error instanceof PusherHttpError) {
          return reply.code(error.status).headers(error.headers).send(error.body)
        }
        // An app lookup that did not answer in time (logged where it timed out): try again later.
        if (error instanceof HookTimeoutError) return reply.code(PusherHttpStatus.Unavailable).send(errorBody(PusherHttpStatus.Unavailable, 'The app lookup did not answer in time.'))
        const status = error.statusCode ?? 500
        if (status === PusherHttpStatus.PayloadTooLarge) {
          return reply.code(status).send(errorBody(status, `The request body is larger than ${options.bodyLimit} bytes.`))
        }
        if (status >= 400 && status < 500) return reply.code(status).send(errorBody(status, error.message))
        request.log.error({ err: error }, 'roomcast: the pusher HTTP API failed')
        return reply.code(PusherHttpStatus.InternalError).send(errorBody(PusherHttpStatus.InternalError, 'Internal server error.'))
      })

      const notFound = (request: FastifyRequest): PusherHttpError =>
        new PusherHttpError(PusherHttpStatus.NotFound, `No route for ${request.method} ${request.url.split('?')[0]}.`)

      api.setNotFoundHandler((request, reply) => {
        const error = notFound(request)
        reply.code(error.status).send(error.body)
      })

      if (options.cors !== false) {
        const policy = cors(options.cors)
        api.addHook('onRequest', async (request, reply) => {
          if (policy.handle(request, reply)) return reply.code(204).send()
        })
      }

      api.addHook('onRequest', async (request) => {
        const url = malformed.originalUrl(request.raw)
        if (url !== undefined) throw badRequest(`The request path is not valid percent-encoding: ${JSON.stringify(url.split('?')[0]!.slice(0, 200))}.`)
      })

      /**
       * preValidation: the endpoint, the app, its signature and whether it is enabled, and only
       * then the body as JSON and the body and query against their schemas.
       */
      const authenticate = async (request: FastifyRequest): Promise<void> => {
        const [path, query = ''] = splitUrl(request.url)
        const endpoint = apiEndpointOf(request.method, path.split('/').slice(rootSegments))
        if (endpoint === undefined) throw notFound(request)
        const found = await service.apps.byId(endpoint.appId)
        if (found === undefined) throw new PusherHttpError(PusherHttpStatus.NotFound, `Unknown app ${JSON.stringify(endpoint.appId.slice(0, 100))}.`)
        const raw = rawBodies.get(request)
        verifySignedRequest(found, { method: request.method, paths: signedPaths(path, pathPrefix), query, body: raw })
        if (!found.enabled) throw new PusherHttpError(PusherHttpStatus.Forbidden, 'The app is disabled.')
        let body: unknown
        if (endpoint.kind === 'events' || endpoint.kind === 'batchEvents') {
          body = validated(endpoint.kind === 'events' ? EventBody : BatchBody, parseJson(raw), 'body')
        }
        validated(querySchemas[endpoint.kind], request.query ?? {}, 'querystring')
        accepted.set(request, { endpoint, app: found, body })
      }

      const limit = async (reply: FastifyReply, app: PusherApp, kind: RateKind, points: number): Promise<void> => {
        const max = kind === 'events' ? app.config.maxBackendEventsPerSecond : app.config.maxReadRequestsPerSecond
        if (max === undefined || max < 0) return
        const decision = await rateLimiter.consume(`${app.id}\u0000${kind}`, points, max)
        reply.header('x-ratelimit-limit', String(max)).header('x-ratelimit-remaining', String(decision.remaining))
        if (!decision.allowed) {
          const retryAfter = String(Math.max(1, Math.ceil(decision.resetMs / 1000)))
          throw new PusherHttpError(PusherHttpStatus.TooManyRequests, 'Too many requests.', {
            'retry-after': retryAfter,
            'x-ratelimit-limit': String(max),
            'x-ratelimit-remaining': String(decision.remaining),
          })
        }
      }

      const partial = (reply: FastifyReply, missing: readonly string[]): void => {
        if (missing.length > 0) reply.header(MISSING_NODES_HEADER, missing.map(encodeURIComponent).join(','))
      }

      const handle = async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
        const { endpoint, app, body } = accepted.get(request)!
        switch (endpoint.kind) {
          case 'events': {
            const event = checkEvent(app, body as EventBody)
            await limit(reply, app, 'events', pointsOf([event]))
            const channels = await publishEvent(service, app, event)
            return channels === undefined ? { ok: true } : { ok: true, channels }
          }
          case 'batchEvents': {
            const events = checkBatch(app, (body as BatchBody).batch)
            await limit(reply, app, 'events', pointsOf(events))
            const batch: ChannelAttributes[] = []
            // Every event is still published when the bus refused one (each reached this node's
            // subscribers); the answer is then 503 naming those the other nodes did not get.
            const refused: string[] = []
            // In order: a receiver sees batch[0] before batch[1], as it would from separate calls.
            for (const [index, event] of events.entries()) {
              try {
                batch.push((await publishEvent(service, app, event))?.[event.channels[0]!] ?? {})
              } catch (err) {
                if (!isBusUnavailable(err)) throw err
                refused.push(`batch[${index}]`)
              }
            }
            if (refused.length > 0) throw busUnavailable(refused)
            return events.some((event) => event.info.size > 0) ? { ok: true, batch } : { ok: true }
          }
          case 'channels': {
            await limit(reply, app, 'reads', 1)
            const result = await listChannels(hub, service, app, request.query as ChannelsQuery)
            partial(reply, result.missing)
            return result.body
          }
          case 'channel': {
            await limit(reply, app, 'reads', 1)
            const result = await channelState(service, app, endpoint.channel, request.query as ChannelQuery)
            partial(reply, result.missing)
            return result.body
          }
          case 'channelUsers': {
            await limit(reply, app, 'reads', 1)
            const withInfo = (request.query as UsersQuery).with_user_info
            const result = await channelUsers(service, app, endpoint.channel, withInfo === '1' || withInfo === 'true')
            partial(reply, result.missing)
            return result.body
          }
          case 'terminateConnections': {
            if (endpoint.userId === '') throw badRequest('The user id is empty.')
            const answer = await service.terminateUserConnections(app, endpoint.userId)
            partial(reply, answer.missing)
            return { ok: true }
          }
        }
      }

      api.route({ method: ['GET', 'POST'], url: '/*', bodyLimit: options.bodyLimit, preValidation: authenticate, handler: handle })
    },
    { prefix: apiRoot },
  )
}

/** What each endpoint accepts in its query string, besides the auth parameters. */
const querySchemas: Record<ApiEndpoint['kind'], TSchema> = {
  events: AnyQuery,
  batchEvents: AnyQuery,
  channels: ChannelsQuery,
  channel: ChannelQuery,
  channelUsers: UsersQuery,
  terminateConnections: AnyQuery,
}

/** The body's JSON value; undefined when there is no body. */
function parseJson(raw: Buffer | undefined): unknown {
  if (raw === undefined || raw.length === 0) return undefined
  const text = raw.toString('utf8')
  // Schema checks and the payload size check walk the value recursively: a deep body would be a 500.
  if (exceedsJsonDepth(text)) throw badRequest(`The request body is nested deeper than ${MAX_JSON_DEPTH} levels.`)
  try {
    return JSON.parse(text)
  } catch {
    throw badRequest('The request body is not valid JSON.')
  }
}

/** The value when it matches the schema, else a 400 naming the first few mismatches. */
function validated<S extends TSchema>(schema: S, value: unknown, part: 'body' | 'querystring'): Static<S> {
  const validator = validatorFor(schema)
  if (validator.check(value)) return value
  const details = validator.errors(value, 3).map((error) => `${error.path} ${error.message}`)
  throw badRequest(`Invalid ${part}: ${details.join('; ')}`)
}

function splitUrl(url: string): [string, string | undefined] {
  const index = url.indexOf('?')
  return index < 0 ? [url, undefined] : [url.slice(0, index), url.slice(index + 1)]
}

/**
 * The paths a signature may have been made over: as received, percent-decoded (SDKs sign the
 * path before their HTTP client encodes it), and without the route prefix (the SDK signs
 * `/apps/...`; a proxy may have added the prefix).
 */
function signedPaths(path: string, pathPrefix: string): string[] {
  const paths = [path]
  try {
    paths.push(decodeURIComponent(path))
  } catch {
    // Not valid percent-encoding: only the path as received can match.
  }
  if (pathPrefix !== '') for (const candidate of [...paths]) if (candidate.startsWith(pathPrefix + '/')) paths.push(candidate.slice(pathPrefix.length))
  return [...new Set(paths)]
}
