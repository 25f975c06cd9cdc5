/**
 * The Pusher HTTP API's endpoints, one handler each, for requests `accept.ts` let through.
 * Each checks the app's limits (400/413) and takes its share of the app's rate limit (429;
 * `x-ratelimit-*` headers whenever the app has one), runs, and answers as the `pusher` SDK
 * expects. Answers whose counts leave out nodes that did not answer in time name them.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Hub } from '../../hub/hub.js'
import type { PusherApp } from '../apps.js'
import type { PusherService } from '../service.js'
import type { Accepted } from './accept.js'
import { badRequest, PusherHttpError, PusherHttpStatus } from './errors.js'
import { busUnavailable, checkBatch, checkEvent, isBusUnavailable, pointsOf, publishEvent, type ChannelAttributes } from './publish.js'
import type { HttpRateLimiter } from './rate-limiter.js'
import { channelState, channelUsers, listChannels } from './reads.js'
import type { BatchBody, ChannelQuery, ChannelsQuery, EventBody, UsersQuery } from './schemas.js'

/** Answers whose counts leave out nodes that did not answer in time carry their ids here. */
export const MISSING_NODES_HEADER = 'x-roomcast-missing-nodes'

/** What the endpoints work with. */
export interface EndpointContext {
  hub: Hub
  service: PusherService
  rateLimiter: HttpRateLimiter
}

/** One accepted request as its handler sees it. */
interface Call {
  context: EndpointContext
  request: FastifyRequest
  reply: FastifyReply
  app: PusherApp
}

/** Runs the endpoint the request names; resolves with the answer's body. */
export async function handleEndpoint(
  context: EndpointContext,
  request: FastifyRequest,
  reply: FastifyReply,
  { endpoint, app, body }: Accepted,
): Promise<unknown> {
  const call: Call = { context, request, reply, app }
  switch (endpoint.kind) {
    case 'events':
      return triggerEvent(call, body as EventBody)
    case 'batchEvents':
      return triggerBatch(call, (body as BatchBody).batch)
    case 'channels':
      return readChannels(call)
    case 'channel':
      return readChannel(call, endpoint.channel)
    case 'channelUsers':
      return readChannelUsers(call, endpoint.channel)
    case 'terminateConnections':
      return terminateConnections(call, endpoint.userId)
  }
}

/**
 * The answer of a publish that asked for no `info`, serialized once: the bytes Fastify's default
 * serializer would write for `{ ok: true }`, with the content type it would give them.
 */
const OK_JSON = JSON.stringify({ ok: true })
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8'

/** `POST /events`: one event to its channels. */
async function triggerEvent({ context, reply, app }: Call, body: EventBody): Promise<unknown> {
  const event = checkEvent(app, body)
  const limited = limit(context, reply, app, 'events', pointsOf([event]))
  if (limited !== undefined) await limited
  const channels = await publishEvent(context.service, app, event)
  if (channels === undefined) return reply.type(JSON_CONTENT_TYPE).send(OK_JSON)
  return { ok: true, channels }
}

/** `POST /batch_events`: several events, each to its one channel. */
async function triggerBatch({ context, reply, app }: Call, bodies: BatchBody['batch']): Promise<unknown> {
  const events = checkBatch(app, bodies)
  await limit(context, reply, app, 'events', pointsOf(events))
  const batch: ChannelAttributes[] = []
  // Every event is still published when the bus refused one (each reached this node's
  // subscribers); the answer is then 503 naming those the other nodes did not get.
  const refused: string[] = []
  // In order: a receiver sees batch[0] before batch[1], as it would from separate calls.
  for (const [index, event] of events.entries()) {
    try {
      batch.push((await publishEvent(context.service, app, event))?.[event.channels[0]!] ?? {})
    } catch (err) {
      if (!isBusUnavailable(err)) throw err
      refused.push(`batch[${index}]`)
    }
  }
  if (refused.length > 0) throw busUnavailable(refused)
  return events.some((event) => event.info.size > 0) ? { ok: true, batch } : { ok: true }
}

/** `GET /channels`: the occupied channels. */
async function readChannels({ context, request, reply, app }: Call): Promise<unknown> {
  await limit(context, reply, app, 'reads', 1)
  const result = await listChannels(context.hub, context.service, app, request.query as ChannelsQuery)
  markMissing(reply, result.missing)
  return result.body
}

/** `GET /channels/:channel`: one channel's state. */
async function readChannel({ context, request, reply, app }: Call, channel: string): Promise<unknown> {
  await limit(context, reply, app, 'reads', 1)
  const result = await channelState(context.service, app, channel, request.query as ChannelQuery)
  markMissing(reply, result.missing)
  return result.body
}

/** `GET /channels/:channel/users`: a presence channel's users. */
async function readChannelUsers({ context, request, reply, app }: Call, channel: string): Promise<unknown> {
  await limit(context, reply, app, 'reads', 1)
  const withInfo = (request.query as UsersQuery).with_user_info
  const result = await channelUsers(context.service, app, channel, withInfo === '1' || withInfo === 'true')
  markMissing(reply, result.missing)
  return result.body
}

/** `POST /users/:id/terminate_connections`: closes the user's connections on every node. Not rate limited. */
async function terminateConnections({ context, reply, app }: Call, userId: string): Promise<unknown> {
  if (userId === '') throw badRequest('The user id is empty.')
  const answer = await context.service.terminateUserConnections(app, userId)
  markMissing(reply, answer.missing)
  return { ok: true }
}

/**
 * Takes `points` from the app's backend-event or read rate limit, if it has one; 429 when none
 * are left. Undefined, not a promise, when the app has no limit: nothing to wait for.
 */
function limit(context: EndpointContext, reply: FastifyReply, app: PusherApp, kind: 'events' | 'reads', points: number): Promise<void> | undefined {
  const max = kind === 'events' ? app.config.maxBackendEventsPerSecond : app.config.maxReadRequestsPerSecond
  if (max === undefined || max < 0) return undefined
  return consume(context, reply, app, kind, points, max)
}

async function consume(
  { rateLimiter }: EndpointContext,
  reply: FastifyReply,
  app: PusherApp,
  kind: 'events' | 'reads',
  points: number,
  max: number,
): Promise<void> {
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

function markMissing(reply: FastifyReply, missing: readonly string[]): void {
  if (missing.length > 0) reply.header(MISSING_NODES_HEADER, missing.map(encodeURIComponent).join(','))
}
