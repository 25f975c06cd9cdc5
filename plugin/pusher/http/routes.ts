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
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Hub } from '../../hub/hub.js'
import { HookTimeoutError } from '../../hub/hook-timeout.js'
import type { PusherService } from '../service.js'
import { acceptRequest, noRoute, type Accepted, type ApiScope } from './accept.js'
import { cors, type Cors } from './cors.js'
import { handleEndpoint, type EndpointContext } from './endpoints.js'
import { badRequest, errorBody, PusherHttpError, PusherHttpStatus } from './errors.js'
import { MalformedApiUrls } from './malformed-urls.js'
import { apiRouteLabel } from './route-label.js'
import type { ResolvedPusherHttpOptions } from './options.js'
import { defaultHttpRateLimiter } from './rate-limiter.js'

/** What the API's encapsulated context is built from. */
interface ApiSetup {
  options: ResolvedPusherHttpOptions
  scope: ApiScope
  endpoints: EndpointContext
  malformed: MalformedApiUrls
}

export async function registerPusherHttpRoutes(app: FastifyInstance, hub: Hub, service: PusherService, options: ResolvedPusherHttpOptions): Promise<void> {
  const pathPrefix = service.options.pathPrefix
  const apiRoot = `${pathPrefix}/apps`
  // Routes are relative to the context roomcast was registered in; the raw URLs the API reads
  // itself include that context's prefix (an application's `register(..., { prefix: '/api' })`).
  const mountedPrefix = app.prefix + pathPrefix
  const mountedRoot = `${mountedPrefix}/apps`
  if (options.healthPath !== false) app.get(options.healthPath, healthHandler(hub))
  const rateLimiter = options.rateLimiter ?? defaultHttpRateLimiter(hub.adapter)
  const malformed = new MalformedApiUrls(mountedRoot)
  const stopWatching = malformed.watch(app.server)
  app.addHook('onClose', async () => stopWatching())
  const setup: ApiSetup = {
    options,
    scope: { apps: service.apps, pathPrefix: mountedPrefix, rootSegments: mountedRoot.split('/').length },
    endpoints: { hub, service, rateLimiter },
    malformed,
  }
  await app.register(async (api) => registerApi(api, setup), { prefix: apiRoot })
}

/** The API's routes, with their parser, answers and hooks kept inside the API's own context. */
function registerApi(api: FastifyInstance, { options, scope, endpoints, malformed }: ApiSetup): void {
  keepRawBodies(api, options.bodyLimit)
  api.setErrorHandler(errorHandler(options.bodyLimit))
  api.setNotFoundHandler(notFoundHandler)
  const metrics = endpoints.hub.metrics
  // Requests the handler accepted, for their metrics labels; only kept when metrics are on.
  const acceptedRequests = metrics === undefined ? undefined : new WeakMap<FastifyRequest, Accepted>()
  if (metrics !== undefined) {
    api.addHook('onResponse', (request, reply, done) => {
      const accepted = acceptedRequests!.get(request)
      const route = apiRouteLabel(request, scope.rootSegments, accepted?.endpoint.kind)
      // Only an accepted (signed) request names an app: an unknown app id never becomes a label.
      metrics.events.httpRequest(route, request.method, reply.statusCode, accepted?.app.id ?? '')
      done()
    })
  }
  api.addHook('onRequest', requestHook(malformed, options.cors === false ? undefined : cors(options.cors)))
  api.route({
    method: ['GET', 'POST'],
    url: '/*',
    bodyLimit: options.bodyLimit,
    // Accepted in the handler rather than a preValidation hook: one lifecycle step and no
    // promise less per request, and no promise at all before the endpoint for a static app list.
    handler: (request, reply) => {
      const accepted = acceptRequest(request, request.body as Buffer | undefined, scope)
      if (accepted instanceof Promise) return accepted.then((found) => handle(endpoints, request, reply, found, acceptedRequests))
      return handle(endpoints, request, reply, accepted, acceptedRequests)
    },
  })
}

function handle(
  endpoints: EndpointContext,
  request: FastifyRequest,
  reply: FastifyReply,
  accepted: Accepted,
  acceptedRequests: WeakMap<FastifyRequest, Accepted> | undefined,
): Promise<unknown> {
  acceptedRequests?.set(request, accepted)
  return handleEndpoint(endpoints, request, reply, accepted)
}

/** `healthPath`: 200 with this node's id while it accepts connections, 503 once it drains or shuts down. */
function healthHandler(hub: Hub) {
  return async (_request: FastifyRequest, reply: FastifyReply) => {
    if (!hub.accepting) return reply.code(PusherHttpStatus.Unavailable).send(errorBody(PusherHttpStatus.Unavailable, 'The server is shutting down.'))
    return { ok: true, node: hub.nodeId }
  }
}

/**
 * Whatever the content type (curl sends none), the bytes are kept as they are, as the request's
 * body, for body_md5, and read as JSON only after the signature (see `accept.ts`).
 */
function keepRawBodies(api: FastifyInstance, bodyLimit: number): void {
  api.removeAllContentTypeParsers()
  api.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => done(null, body))
}

/** Every failure as `{ error, code }` with its real status; only a 5xx of our own is logged. */
function errorHandler(bodyLimit: number) {
  return (error: FastifyError | PusherHttpError | HookTimeoutError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof PusherHttpError) {
      return reply.code(error.status).headers(error.headers).send(error.body)
    }
    // An app lookup that did not answer in time (logged where it timed out): try again later.
    if (error instanceof HookTimeoutError)
      return reply.code(PusherHttpStatus.Unavailable).send(errorBody(PusherHttpStatus.Unavailable, 'The app lookup did not answer in time.'))
    const status = error.statusCode ?? 500
    if (status === PusherHttpStatus.PayloadTooLarge) {
      return reply.code(status).send(errorBody(status, `The request body is larger than ${bodyLimit} bytes.`))
    }
    if (status >= 400 && status < 500) return reply.code(status).send(errorBody(status, error.message))
    request.log.error({ err: error }, 'roomcast: the pusher HTTP API failed')
    return reply.code(PusherHttpStatus.InternalError).send(errorBody(PusherHttpStatus.InternalError, 'Internal server error.'))
  }
}

function notFoundHandler(request: FastifyRequest, reply: FastifyReply): void {
  const error = noRoute(request)
  reply.code(error.status).send(error.body)
}

/**
 * Every request's one hook, synchronous: the CORS headers (on every answer, errors included),
 * a preflight being answered 204 here; then a path that does not decode, which
 * `MalformedApiUrls` pointed at the API's root, is a 400.
 */
function requestHook(malformed: MalformedApiUrls, policy: Cors | undefined) {
  return (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void): void => {
    if (policy?.handle(request, reply)) {
      reply.code(204).send()
      return
    }
    const url = malformed.originalUrl(request.raw)
    if (url !== undefined) {
      done(badRequest(`The request path is not valid percent-encoding: ${JSON.stringify(url.split('?')[0]!.slice(0, 200))}.`))
      return
    }
    done()
  }
}
