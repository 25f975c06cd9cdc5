/**
 * The Pusher HTTP API as Fastify routes, `[pathPrefix]/apps/:appId/...`, so the `pusher` SDK
 * (and the other official SDKs, which sign the same way) works by changing host and port.
 *
 * The routes live in an encapsulated context of their own: its raw-body JSON parser (the
 * signature covers the exact body bytes), TypeBox validation, error and not-found handlers
 * (every failure is `{ error, code }` with its real status) and CORS never touch the
 * application's other routes. Per request: body limit (413) → app lookup (404) → signature
 * (401) → app enabled (403) → schemas (400) → rate limit (429) → the app's limits (400/413).
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify'
import type { TSchema } from '@sinclair/typebox'
import { validatorFor } from '../../../shared/validator.js'
import type { Hub } from '../../hub/hub.js'
import type { PusherApp } from '../../protocol/pusher/apps.js'
import { errorBody, PusherHttpError, PusherHttpStatus } from '../../protocol/pusher/http/errors.js'
import type { ResolvedPusherHttpOptions } from '../../protocol/pusher/http/options.js'
import { checkBatch, checkEvent, pointsOf, publishEvent, type ChannelAttributes } from '../../protocol/pusher/http/publish.js'
import { channelState, channelUsers, listChannels } from '../../protocol/pusher/http/reads.js'
import { verifySignedRequest } from '../../protocol/pusher/http/request-auth.js'
import {
  AppParams,
  BatchBody,
  ChannelParams,
  ChannelQuery,
  ChannelsQuery,
  EventBody,
  UserParams,
  UsersQuery,
} from '../../protocol/pusher/http/schemas.js'
import type { PusherService } from '../../protocol/pusher/service.js'
import { cors } from './cors.js'

/** Answers whose counts leave out nodes that did not answer in time carry their ids here. */
export const MISSING_NODES_HEADER = 'x-roomcast-missing-nodes'

type RateKind = 'events' | 'reads'

export async function registerPusherHttpRoutes(app: FastifyInstance, hub: Hub, service: PusherService, options: ResolvedPusherHttpOptions): Promise<void> {
  const pathPrefix = service.options.pathPrefix
  if (options.healthPath !== false) {
    app.get(options.healthPath, async (_request, reply) => {
      if (!hub.accepting) return reply.code(PusherHttpStatus.Unavailable).send(errorBody(PusherHttpStatus.Unavailable, 'The server is shutting down.'))
      return { ok: true, node: hub.nodeId }
    })
  }

  await app.register(
    async (api) => {
      const rawBodies = new WeakMap<FastifyRequest, Buffer>()
      const appOf = new WeakMap<FastifyRequest, PusherApp>()

      // Whatever the content type (curl sends none): the body is JSON, kept byte for byte for body_md5.
      api.removeAllContentTypeParsers()
      api.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.bodyLimit }, (request, body, done) => {
        const bytes = body as Buffer
        rawBodies.set(request, bytes)
        if (bytes.length === 0) {
          done(null, undefined)
          return
        }
        try {
          done(null, JSON.parse(bytes.toString('utf8')))
        } catch {
          done(new PusherHttpError(PusherHttpStatus.BadRequest, 'The request body is not valid JSON.'), undefined)
        }
      })

      api.setValidatorCompiler(({ schema, httpPart }) => {
        const validator = validatorFor(schema as TSchema)
        return (value: unknown) => {
          if (validator.check(value)) return { value }
          const details = validator.errors(value, 3).map((error) => `${error.path} ${error.message}`)
          return { error: new PusherHttpError(PusherHttpStatus.BadRequest, `Invalid ${httpPart ?? 'request'}: ${details.join('; ')}`) }
        }
      })

      api.setErrorHandler((error: FastifyError | PusherHttpError, request, reply) => {
        if (error instanceof PusherHttpError) {
          return reply.code(error.status).headers(error.headers).send(error.body)
        }
        const status = error.statusCode ?? 500
        if (status === PusherHttpStatus.PayloadTooLarge) {
          return reply.code(status).send(errorBody(status, `The request body is larger than ${options.bodyLimit} bytes.`))
        }
        if (status >= 400 && status < 500) return reply.code(status).send(errorBody(status, error.message))
        request.log.error({ err: error }, 'roomcast: the pusher HTTP API failed')
        return reply.code(PusherHttpStatus.InternalError).send(errorBody(PusherHttpStatus.InternalError, 'Internal server error.'))
      })

      api.setNotFoundHandler((request, reply) => {
        reply.code(PusherHttpStatus.NotFound).send(errorBody(PusherHttpStatus.NotFound, `No route for ${request.method} ${request.url.split('?')[0]}.`))
      })

      if (options.cors !== false) {
        const policy = cors(options.cors)
        api.addHook('onRequest', async (request, reply) => {
          if (policy.handle(request, reply)) return reply.code(204).send()
        })
      }

      /** preValidation: the app, its signature, and whether it is enabled, before any body is looked at. */
      const authenticate = async (request: FastifyRequest<{ Params: AppParams }>): Promise<void> => {
        const found = await service.apps.byId(request.params.appId)
        if (found === undefined) throw new PusherHttpError(PusherHttpStatus.NotFound, `Unknown app ${JSON.stringify(request.params.appId.slice(0, 100))}.`)
        const [path, query = ''] = splitUrl(request.url)
        verifySignedRequest(found, { method: request.method, paths: signedPaths(path, pathPrefix), query, body: rawBodies.get(request) })
        if (!found.enabled) throw new PusherHttpError(PusherHttpStatus.Forbidden, 'The app is disabled.')
        appOf.set(request, found)
      }

      const limit = async (reply: FastifyReply, app: PusherApp, kind: RateKind, points: number): Promise<void> => {
        const max = kind === 'events' ? app.config.maxBackendEventsPerSecond : app.config.maxReadRequestsPerSecond
        if (max === undefined || max < 0) return
        const decision = await options.rateLimiter.consume(`${app.id}\u0000${kind}`, points, max)
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

      const route = (schema: FastifySchema) => ({ schema, preValidation: authenticate, bodyLimit: options.bodyLimit })

      api.post<{ Params: AppParams; Body: EventBody }>('/:appId/events', route({ params: AppParams, body: EventBody }), async (request, reply) => {
        const app = appOf.get(request)!
        const event = checkEvent(app, request.body)
        await limit(reply, app, 'events', pointsOf([event]))
        const channels = await publishEvent(service, app, event)
        return channels === undefined ? { ok: true } : { ok: true, channels }
      })

      api.post<{ Params: AppParams; Body: BatchBody }>('/:appId/batch_events', route({ params: AppParams, body: BatchBody }), async (request, reply) => {
        const app = appOf.get(request)!
        const events = checkBatch(app, request.body.batch)
        await limit(reply, app, 'events', pointsOf(events))
        const batch: ChannelAttributes[] = []
        // In order: a receiver sees batch[0] before batch[1], as it would from separate calls.
        for (const event of events) batch.push((await publishEvent(service, app, event))?.[event.channels[0]!] ?? {})
        return events.some((event) => event.info.size > 0) ? { ok: true, batch } : { ok: true }
      })

      api.get<{ Params: AppParams; Querystring: ChannelsQuery }>('/:appId/channels', route({ params: AppParams, querystring: ChannelsQuery }), async (request, reply) => {
        const app = appOf.get(request)!
        await limit(reply, app, 'reads', 1)
        const result = await listChannels(hub, service, app, request.query)
        partial(reply, result.missing)
        return result.body
      })

      api.get<{ Params: ChannelParams; Querystring: ChannelQuery }>('/:appId/channels/:channel', route({ params: ChannelParams, querystring: ChannelQuery }), async (request, reply) => {
        const app = appOf.get(request)!
        await limit(reply, app, 'reads', 1)
        const result = await channelState(service, app, request.params.channel, request.query)
        partial(reply, result.missing)
        return result.body
      })

      api.get<{ Params: ChannelParams; Querystring: UsersQuery }>('/:appId/channels/:channel/users', route({ params: ChannelParams, querystring: UsersQuery }), async (request, reply) => {
        const app = appOf.get(request)!
        await limit(reply, app, 'reads', 1)
        const withInfo = request.query.with_user_info === '1' || request.query.with_user_info === 'true'
        const result = await channelUsers(service, app, request.params.channel, withInfo)
        partial(reply, result.missing)
        return result.body
      })

      api.post<{ Params: UserParams }>('/:appId/users/:userId/terminate_connections', route({ params: UserParams }), async (request, reply) => {
        const app = appOf.get(request)!
        const answer = await service.terminateUserConnections(app, request.params.userId)
        partial(reply, answer.missing)
        return { ok: true }
      })
    },
    { prefix: `${pathPrefix}/apps` },
  )
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
