/**
 * Which endpoint of the Pusher HTTP API a path names. The API is routed with one wildcard
 * route per method and the path after `[pathPrefix]/apps/` is read here, segment by segment:
 * Fastify's router refuses path parameters longer than its `maxParamLength` (100 by default)
 * with an answer of its own, while channel names may be up to 200 characters and user ids
 * and app ids have no length set by the protocol. Wildcards have no such limit.
 */
import { badRequest } from './errors.js'

export type ApiEndpoint =
  | { kind: 'events'; appId: string }
  | { kind: 'batchEvents'; appId: string }
  | { kind: 'channels'; appId: string }
  | { kind: 'channel'; appId: string; channel: string }
  | { kind: 'channelUsers'; appId: string; channel: string }
  | { kind: 'terminateConnections'; appId: string; userId: string }

export type ApiEndpointKind = ApiEndpoint['kind']

/**
 * The endpoint a request names, or undefined when none has this method and path (a 404).
 * `segments` are the path's segments after `apps/`, still percent-encoded as received, so an
 * encoded "/" inside a user id stays inside it. Broken percent-encoding is a 400.
 */
export function apiEndpointOf(method: string, segments: readonly string[]): ApiEndpoint | undefined {
  const [appId, ...rest] = segments.map(decodeSegment)
  if (appId === undefined || appId === '') return undefined
  if (method === 'POST') {
    if (rest.length === 1 && rest[0] === 'events') return { kind: 'events', appId }
    if (rest.length === 1 && rest[0] === 'batch_events') return { kind: 'batchEvents', appId }
    if (rest.length === 3 && rest[0] === 'users' && rest[2] === 'terminate_connections') return { kind: 'terminateConnections', appId, userId: rest[1]! }
    return undefined
  }
  // HEAD: Fastify answers it with the GET route, without the body.
  if ((method === 'GET' || method === 'HEAD') && rest[0] === 'channels') {
    if (rest.length === 1) return { kind: 'channels', appId }
    if (rest.length === 2) return { kind: 'channel', appId, channel: rest[1]! }
    if (rest.length === 3 && rest[2] === 'users') return { kind: 'channelUsers', appId, channel: rest[1]! }
  }
  return undefined
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    throw badRequest(`The request path is not valid percent-encoding: ${JSON.stringify(segment.slice(0, 100))}.`)
  }
}
