/**
 * The HTTP API's reads, answered for the whole cluster through partial-answer queries: the
 * occupied channels (one `roomSizes` round trip for the whole listing), one channel's state,
 * and a presence channel's users. Each result names the nodes that did not answer in time, so
 * the route can say the answer is partial.
 *
 * Responses are a superset of Pusher's: `occupied` and `subscription_count` are always there
 * (soketi always sends them; SDKs ignore fields they do not know), `user_count` is there for
 * presence channels when asked (the listing) or always (one channel).
 */
import type { Hub } from '../../hub/hub.js'
import type { PusherApp } from '../apps.js'
import { channelType, checkChannelName, isHiddenChannel, isValidChannelName } from '../channels.js'
import type { PusherService } from '../service.js'
import { badRequest } from './errors.js'
import { parseInfo } from './info.js'
import type { ChannelAttributes } from './publish.js'

export interface ReadResult<T> {
  body: T
  /** Nodes that did not answer in time; their connections are not counted. */
  missing: string[]
}

/** Presence channels counted at once when a listing asks for `user_count`. */
const USER_COUNT_CONCURRENCY = 16

export function checkReadChannel(app: PusherApp, channel: string): void {
  if (isHiddenChannel(channel) || !isValidChannelName(channel, app.maxChannelNameLength)) throw badRequest(`Invalid channel name ${JSON.stringify(channel.slice(0, 250))}.`)
}

/** `GET /channels`: occupied channels, optionally only those starting with `filter_by_prefix`. */
export async function listChannels(
  hub: Pick<Hub, 'query'>,
  service: PusherService,
  app: PusherApp,
  query: { filter_by_prefix?: string | undefined; info?: string | undefined },
): Promise<ReadResult<{ channels: Record<string, ChannelAttributes> }>> {
  const info = parseInfo(query.info)
  const filter = query.filter_by_prefix ?? ''
  if (info.has('user_count') && !filter.startsWith('presence-')) throw badRequest('user_count can only be requested for presence channels: add filter_by_prefix=presence-')
  const answer = await hub.query({ type: 'roomSizes', prefix: app.roomPrefix + filter })
  // No prototype: "__proto__" is a valid channel name.
  const channels: Record<string, ChannelAttributes> = Object.create(null)
  const presence: string[] = []
  for (const room of Object.keys(answer.value).sort()) {
    const channel = room.slice(app.roomPrefix.length)
    // With an empty room prefix the app shares the hub's rooms: leave out what cannot be a channel.
    if (isHiddenChannel(channel) || checkChannelName(channel, Number.MAX_SAFE_INTEGER) !== undefined) continue
    const count = answer.value[room]!
    if (count <= 0) continue
    channels[channel] = { occupied: true, subscription_count: count }
    if (info.has('user_count') && channelType(channel) === 'presence') presence.push(channel)
  }
  const missing = new Set(answer.missing)
  for (let start = 0; start < presence.length; start += USER_COUNT_CONCURRENCY) {
    await Promise.all(
      presence.slice(start, start + USER_COUNT_CONCURRENCY).map(async (channel) => {
        const members = await service.members(app, channel)
        channels[channel]!.user_count = members.value.length
        for (const node of members.missing) missing.add(node)
      }),
    )
  }
  return { body: { channels }, missing: [...missing] }
}

/** `GET /channels/:channel`: occupied, subscription_count, and user_count for presence channels. */
export async function channelState(service: PusherService, app: PusherApp, channel: string, query: { info?: string | undefined }): Promise<ReadResult<ChannelAttributes>> {
  checkReadChannel(app, channel)
  const info = parseInfo(query.info)
  const presence = channelType(channel) === 'presence'
  if (info.has('user_count') && !presence) throw badRequest('user_count can only be requested for presence channels.')
  const state = await service.channelInfo(app, channel)
  const body: ChannelAttributes = { occupied: state.occupied, subscription_count: state.subscriptionCount }
  if (state.userCount !== undefined) body.user_count = state.userCount
  return { body, missing: state.missing }
}

/** `GET /channels/:channel/users`: a presence channel's distinct users, ids in their JSON type. */
export async function channelUsers(
  service: PusherService,
  app: PusherApp,
  channel: string,
  withUserInfo: boolean,
): Promise<ReadResult<{ users: Array<{ id: string | number; user_info?: unknown }> }>> {
  checkReadChannel(app, channel)
  if (channelType(channel) !== 'presence') throw badRequest('Only presence channels have users.')
  const members = await service.members(app, channel)
  const users = members.value.map((member) => (withUserInfo && member.user_info !== undefined ? { id: member.user_id, user_info: member.user_info } : { id: member.user_id }))
  return { body: { users }, missing: members.missing }
}

