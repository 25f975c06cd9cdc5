/**
 * The route pattern of a Pusher HTTP API request, for metrics: one of a fixed set whatever
 * the path held (app ids, channel names and user ids stay out of labels).
 */
import type { FastifyRequest } from 'fastify'
import { apiEndpointOf, type ApiEndpointKind } from './api-path.js'

const PATTERNS: Record<ApiEndpointKind, string> = {
  events: '/apps/:appId/events',
  batchEvents: '/apps/:appId/batch_events',
  channels: '/apps/:appId/channels',
  channel: '/apps/:appId/channels/:channelName',
  channelUsers: '/apps/:appId/channels/:channelName/users',
  terminateConnections: '/apps/:appId/users/:userId/terminate_connections',
}

/** Requests that name no endpoint (404s, broken paths, preflights of unknown paths). */
export const UNMATCHED_ROUTE = 'unmatched'

/** `rootSegments`: segments of `[pathPrefix]/apps`, after which the path names the endpoint. */
export function apiRouteLabel(request: FastifyRequest, rootSegments: number, known?: ApiEndpointKind): string {
  if (known !== undefined) return PATTERNS[known]
  try {
    const kind = apiEndpointOf(request.method, request.url.split('?')[0]!.split('/').slice(rootSegments))?.kind
    return kind === undefined ? UNMATCHED_ROUTE : PATTERNS[kind]
  } catch {
    // Broken percent-encoding: a 400 that names no endpoint.
    return UNMATCHED_ROUTE
  }
}
