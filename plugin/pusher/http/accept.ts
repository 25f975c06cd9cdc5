/**
 * What a Pusher HTTP API request must pass before its endpoint runs (the API route's
 * preValidation), in this order: a known endpoint (404), a known app (404), its signature
 * (401), the app enabled (403), and only then the body as JSON and the body and query against
 * their schemas (400). The body is read as JSON only once the request is known to be signed,
 * so an unsigned caller learns nothing from how its body is parsed.
 */
import type { Static, TSchema } from '@sinclair/typebox'
import type { FastifyRequest } from 'fastify'
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../../shared/json-depth.js'
import { validatorFor } from '../../../shared/validator.js'
import type { AppRegistry, PusherApp } from '../apps.js'
import { apiEndpointOf, type ApiEndpoint } from './api-path.js'
import { badRequest, PusherHttpError, PusherHttpStatus } from './errors.js'
import { verifySignedRequest } from './request-auth.js'
import { AnyQuery, BatchBody, ChannelQuery, ChannelsQuery, EventBody, UsersQuery } from './schemas.js'

/** A request that passed routing, authentication and validation: what its endpoint works with. */
export interface Accepted {
  endpoint: ApiEndpoint
  app: PusherApp
  /** The JSON body, for the endpoints that take one; checked against their schema. */
  body: unknown
}

/** Where the API lives and where its apps are found. */
export interface ApiScope {
  apps: AppRegistry
  /** `pathPrefix`: a signature may have been made without it. */
  pathPrefix: string
  /** Segments of `[pathPrefix]/apps`: what comes after them names the endpoint. */
  rootSegments: number
}

/** The 404 for a method and path that name no endpoint (also the API's not-found answer). */
export function noRoute(request: FastifyRequest): PusherHttpError {
  return new PusherHttpError(PusherHttpStatus.NotFound, `No route for ${request.method} ${request.url.split('?')[0]}.`)
}

/**
 * The checked request; throws the `PusherHttpError` of the first check it fails. `raw` is the
 * body as received. Synchronous when the app lookup is (a static app list): a publish then
 * waits on no promise before its endpoint runs.
 */
export function acceptRequest(request: FastifyRequest, raw: Buffer | undefined, scope: ApiScope): Accepted | Promise<Accepted> {
  const [path, query = ''] = splitUrl(request.url)
  const endpoint = apiEndpointOf(request.method, path.split('/').slice(scope.rootSegments))
  if (endpoint === undefined) throw noRoute(request)
  const found = scope.apps.byId(endpoint.appId)
  if (found instanceof Promise) return found.then((app) => checkRequest(request, raw, scope, endpoint, path, query, app))
  return checkRequest(request, raw, scope, endpoint, path, query, found)
}

/** The checks after routing: app known, signature, app enabled, body and query. */
function checkRequest(
  request: FastifyRequest,
  raw: Buffer | undefined,
  scope: ApiScope,
  endpoint: ApiEndpoint,
  path: string,
  query: string,
  app: PusherApp | undefined,
): Accepted {
  if (app === undefined) throw new PusherHttpError(PusherHttpStatus.NotFound, `Unknown app ${JSON.stringify(endpoint.appId.slice(0, 100))}.`)
  verifySignedRequest(app, { method: request.method, paths: signedPaths(path, scope.pathPrefix), query, body: raw })
  if (!app.enabled) throw new PusherHttpError(PusherHttpStatus.Forbidden, 'The app is disabled.')
  let body: unknown
  if (endpoint.kind === 'events' || endpoint.kind === 'batchEvents') {
    body = validated(endpoint.kind === 'events' ? EventBody : BatchBody, parseJson(raw), 'body')
  }
  validated(querySchemas[endpoint.kind], request.query ?? {}, 'querystring')
  return { endpoint, app, body }
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
  // Only a path with a percent sign decodes to another one (the SDKs' common case has none).
  if (path.includes('%')) {
    try {
      const decoded = decodeURIComponent(path)
      if (decoded !== path) paths.push(decoded)
    } catch {
      // Not valid percent-encoding: only the path as received can match.
    }
  }
  if (pathPrefix !== '') {
    for (const candidate of [...paths]) {
      const unprefixed = candidate.startsWith(pathPrefix + '/') ? candidate.slice(pathPrefix.length) : undefined
      if (unprefixed !== undefined && !paths.includes(unprefixed)) paths.push(unprefixed)
    }
  }
  return paths
}
