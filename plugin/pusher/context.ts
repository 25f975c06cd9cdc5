/**
 * What the parts of the Pusher protocol share: its options, its apps, the cache channels' store
 * and the channel events. Built first by `registerPusher` and handed to each part, so a session
 * (and the service that opens it) depends on this narrow context and never on the service.
 */
import type { Hub } from '../hub/hub.js'
import { AppRegistry } from './apps.js'
import { defaultChannelCache, type ChannelCache } from './cache.js'
import { PusherEvents } from './events.js'
import type { ResolvedPusherOptions } from './options.js'

export interface PusherContext {
  readonly options: ResolvedPusherOptions
  readonly apps: AppRegistry
  readonly cache: ChannelCache
  readonly events: PusherEvents
}

export function createPusherContext(hub: Hub, options: ResolvedPusherOptions, hookTimeout: number): PusherContext {
  return {
    options,
    apps: new AppRegistry(options.apps, { hookTimeout, log: hub.log }),
    cache: options.cache ?? defaultChannelCache(hub.adapter),
    events: new PusherEvents(hub.log),
  }
}
