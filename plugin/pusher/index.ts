/**
 * The Pusher protocol as a sub-plugin: its WebSocket route, HTTP API, webhooks and
 * subscription counts, registered on the hub by the composition root. Nothing outside this
 * folder knows Pusher's channel names or rules; its rooms and users live in a namespace of their
 * own (`hub/namespace.ts`), so no native name can reach them.
 */
import type { FastifyInstance } from 'fastify'
import type { Hub } from '../hub/hub.js'
import type { RateLimitOptions } from '../hub/rate-window.js'
import type { BackpressureOptions } from '../ws/socket-sink.js'
import { createPusherContext } from './context.js'
import { registerPusherHttpRoutes } from './http/routes.js'
import type { ResolvedPusherOptions } from './options.js'
import { registerPusherRoute } from './route.js'
import { PusherService } from './service.js'
import { SubscriptionCounter } from './subscription-count.js'
import { WebhookSender } from './webhooks/sender.js'

/** What the Pusher protocol takes from the plugin's own options. */
export interface PusherHostOptions {
  rateLimit: RateLimitOptions | false
  backpressure: BackpressureOptions
  maxPayload: number
  hookTimeout: number
  /** True when roomcast registered @fastify/websocket itself (its default socket error handler is in use). */
  ownsWebsocket: boolean
}

/** Registers the Pusher protocol; resolves with its service (`app.roomcast.pusher`). */
export async function registerPusher(app: FastifyInstance, hub: Hub, options: ResolvedPusherOptions, host: PusherHostOptions): Promise<PusherService> {
  const context = createPusherContext(hub, options, host.hookTimeout)
  // Listening from start-up: channel events are only tracked while someone listens.
  const webhooks = options.webhooks === false ? undefined : WebhookSender.start(context.events, context.apps, options.webhooks, app.log)
  const pusher = new PusherService(hub, context, host.rateLimit, webhooks)
  registerPusherRoute(app, hub, host.backpressure, pusher, host.maxPayload, host.ownsWebsocket)
  if (webhooks !== undefined) app.addHook('onClose', () => webhooks.close())
  const subscriptionCounter = new SubscriptionCounter(hub, pusher, options.subscriptionCountInterval)
  app.addHook('onClose', () => subscriptionCounter.close())
  if (options.http !== false) await registerPusherHttpRoutes(app, hub, pusher, options.http)
  return pusher
}
