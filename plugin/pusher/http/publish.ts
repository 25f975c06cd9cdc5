/**
 * Publishing over the HTTP API (`POST /events`, `POST /batch_events`): each event checked
 * against the app's limits before anything is sent, so a bad batch publishes nothing; then
 * published through `PusherService.trigger` (cache channels included), one frame per channel,
 * without the socket named by `socket_id`; then, where `info` asks, the channels' counts. An
 * event the cluster bus did not take is answered 503, never acknowledged as published.
 */
import { ErrorCode } from '../../../shared/codes.js'
import { RoomcastError } from '../../../shared/errors.js'
import type { PusherApp } from '../apps.js'
import { channelType, isValidChannelName } from '../channels.js'
import type { PusherService } from '../service.js'
import { SOCKET_ID } from '../socket-id.js'
import { badRequest, PusherHttpError, PusherHttpStatus } from './errors.js'
import { parseInfo, type InfoAttribute } from './info.js'
import type { EventBody } from './schemas.js'

/** Event names the protocol keeps for itself: pusher-js would act on them as protocol messages. */
const RESERVED_EVENT_PREFIXES = ['pusher:', 'pusher_internal:']

/** An event that passed every check, ready to publish. */
export interface CheckedEvent {
  name: string
  /** Distinct channels, in the order given. */
  channels: string[]
  data: unknown
  socketId: string | undefined
  info: Set<InfoAttribute>
}

/** What `info` can report about a channel. */
export interface ChannelAttributes {
  occupied?: boolean
  user_count?: number
  subscription_count?: number
}

/** Checks one event against the app's limits; `where` names it in a batch ("batch[3]"). */
export function checkEvent(app: PusherApp, body: EventBody, where = ''): CheckedEvent {
  const at = where === '' ? '' : `${where}: `
  const given = body.channels ?? (body.channel === undefined ? [] : [body.channel])
  if (given.length === 0) throw badRequest(`${at}No channel given: send "channels" (a list) or "channel".`)
  const channels = [...new Set(given)]
  if (channels.length > app.maxEventChannelsAtOnce) throw badRequest(`${at}An event may be published to at most ${app.maxEventChannelsAtOnce} channels; got ${channels.length}.`)
  for (const channel of channels) {
    if (!isValidChannelName(channel, app.maxChannelNameLength)) {
      throw badRequest(`${at}Invalid channel name ${JSON.stringify(channel.slice(0, 250))}: at most ${app.maxChannelNameLength} characters of A-Z a-z 0-9 _ - = @ , . ;`)
    }
  }
  const name = body.name
  if (name.length > app.maxEventNameLength) throw badRequest(`${at}The event name is longer than ${app.maxEventNameLength} characters.`)
  if (RESERVED_EVENT_PREFIXES.some((prefix) => name.startsWith(prefix))) throw badRequest(`${at}Event names starting with "pusher:" or "pusher_internal:" are reserved for the protocol.`)
  const data = body.data
  const size = Buffer.byteLength(typeof data === 'string' ? data : (JSON.stringify(data) ?? ''))
  if (size > app.maxEventPayloadKb * 1024) {
    throw new PusherHttpError(PusherHttpStatus.PayloadTooLarge, `${at}The event data is ${size} bytes; the limit is ${app.maxEventPayloadKb} KiB.`)
  }
  if (channels.some((channel) => channelType(channel) === 'private-encrypted')) checkEncrypted(channels, data, at)
  const socketId = body.socket_id
  if (socketId !== undefined && !SOCKET_ID.test(socketId)) throw badRequest(`${at}Invalid socket_id ${JSON.stringify(socketId.slice(0, 50))}.`)
  return { name, channels, data, socketId, info: parseInfo(body.info) }
}

/**
 * Encrypted channels carry what the SDK encrypted for that one channel (`{"nonce","ciphertext"}`,
 * NaCl secretbox under a key derived from the channel name): the server relays it untouched,
 * and refuses plaintext or several channels, which no subscriber could decrypt.
 */
function checkEncrypted(channels: readonly string[], data: unknown, at: string): void {
  if (channels.length > 1) throw badRequest(`${at}An event to an encrypted channel must go to that channel alone.`)
  let payload: unknown
  try {
    payload = typeof data === 'string' ? JSON.parse(data) : undefined
  } catch {
    payload = undefined
  }
  const fields = payload as { nonce?: unknown; ciphertext?: unknown } | undefined
  if (fields === null || typeof fields !== 'object' || typeof fields.nonce !== 'string' || typeof fields.ciphertext !== 'string') {
    throw badRequest(`${at}Data for an encrypted channel must be the SDK's encrypted payload {"nonce","ciphertext"}; set the SDK's encryption master key.`)
  }
}

/** Checks a whole batch first: one bad event refuses the batch, and nothing is published. */
export function checkBatch(app: PusherApp, batch: readonly EventBody[]): CheckedEvent[] {
  if (batch.length > app.maxEventBatchSize) throw badRequest(`A batch may hold at most ${app.maxEventBatchSize} events; got ${batch.length}.`)
  return batch.map((event, index) => checkEvent(app, event, `batch[${index}]`))
}

/** Rate-limit points of events: one per channel. */
export function pointsOf(events: readonly CheckedEvent[]): number {
  let points = 0
  for (const event of events) points += event.channels.length
  return points
}

/**
 * Publishes one checked event; with `info`, resolves with the attributes of each of its channels.
 * Rejects with a 503 `PusherHttpError` when the cluster bus did not take it.
 */
export async function publishEvent(service: PusherService, app: PusherApp, event: CheckedEvent): Promise<Record<string, ChannelAttributes> | undefined> {
  try {
    await service.trigger(app, event.channels, event.name, event.data, event.socketId === undefined ? {} : { socketId: event.socketId })
  } catch (err) {
    if (err instanceof RoomcastError && err.code === ErrorCode.PublishFailed) throw busUnavailable()
    throw err
  }
  if (event.info.size === 0) return undefined
  const entries = await Promise.all(event.channels.map(async (channel) => [channel, await attributesOf(service, app, channel, event.info)] as const))
  return Object.fromEntries(entries)
}

/** The requested counts of a channel, cluster-wide; `user_count` only exists for presence channels. */
export async function attributesOf(service: PusherService, app: PusherApp, channel: string, info: ReadonlySet<InfoAttribute>): Promise<ChannelAttributes> {
  const state = await service.channelInfo(app, channel)
  const attributes: ChannelAttributes = {}
  if (info.has('user_count') && state.userCount !== undefined) attributes.user_count = state.userCount
  if (info.has('subscription_count')) attributes.subscription_count = state.subscriptionCount
  return attributes
}

/**
 * The answer for events the cluster bus did not take (`where` names them in a batch): the
 * `pusher` SDK rejects on it, so the caller can retry instead of believing them delivered.
 */
export function busUnavailable(where: readonly string[] = []): PusherHttpError {
  const at = where.length === 0 ? '' : `${where.join(', ')}: `
  return new PusherHttpError(
    PusherHttpStatus.Unavailable,
    `${at}The event reached this node's subscribers but could not be handed to the other nodes (the cluster bus is unavailable); subscribers elsewhere did not get it.`,
  )
}

/** Whether a publish failed because the cluster bus did not take the event. */
export function isBusUnavailable(err: unknown): err is PusherHttpError {
  return err instanceof PusherHttpError && err.status === PusherHttpStatus.Unavailable
}
