/**
 * Webhooks: listens to the Pusher channel events, turns each into Pusher's webhook event for
 * every endpoint of its app that wants it, and queues it there. Queuing is synchronous and
 * bounded, so a slow or dead receiver can never hold up a subscription or a message: at worst
 * its events are dropped, counted and logged. The bound is per endpoint (with a global
 * backstop), so a dead receiver only ever loses its own events, never a healthy one's.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { AppRegistry, PusherApp } from '../apps.js'
import type { PusherEvents } from '../events.js'
import { checkWebhooks, customHeaders, wants, WEBHOOK_EVENT_TYPES, type WebhookConfig, type WebhookEventType } from './config.js'
import { WebhookEndpoint, type EndpointReport } from './endpoint.js'
import type { ResolvedWebhookOptions } from './options.js'
import { channelWebhookEvent, clientWebhookEvent, memberWebhookEvent, subscriptionCountWebhookEvent, type WebhookEvent } from './payload.js'

export interface WebhookStats {
  /** Events waiting or in flight now. */
  queued: number
  /** Events a receiver accepted (2xx). */
  sent: number
  /** HTTP requests made, retries included. */
  requests: number
  /** Requests that failed: non-2xx, network error or timeout. */
  failedRequests: number
  /** Retries scheduled after a failure. */
  retries: number
  /** Events abandoned once their request's retries ran out (or at shutdown). */
  gaveUp: number
  /** Events refused because their endpoint's queue, or the global one, was full. */
  dropped: number
}

/** One endpoint's share: what it has queued and what it lost to a full queue. */
export interface WebhookEndpointStats {
  appId: string
  url: string
  /** Events waiting or in flight now. */
  queued: number
  /** Events refused because this endpoint's queue (or the global one) was full. */
  dropped: number
}

/** Logs about one endpoint's full queue at most this often. */
const DROP_LOG_INTERVAL_MS = 10_000

/** Drops of one endpoint, kept after its queue empties so that they can still be read. */
interface Drops {
  appId: string
  url: string
  count: number
  lastLog: number
}

export class WebhookSender {
  readonly #options: ResolvedWebhookOptions
  readonly #log: FastifyBaseLogger
  readonly #endpoints = new Map<string, WebhookEndpoint>()
  readonly #stats: WebhookStats = { queued: 0, sent: 0, requests: 0, failedRequests: 0, retries: 0, gaveUp: 0, dropped: 0 }
  readonly #report: EndpointReport
  readonly #drops = new Map<string, Drops>()
  #idleWaiters: Array<() => void> = []
  #closed = false

  constructor(options: ResolvedWebhookOptions, log: FastifyBaseLogger) {
    this.#options = options
    this.#log = log
    const stats = this.#stats
    this.#report = {
      attempted: () => void stats.requests++,
      delivered: (events) => {
        stats.sent += events
        this.#dequeued(events)
      },
      failedAttempt: () => void stats.failedRequests++,
      retrying: () => void stats.retries++,
      gaveUp: (events) => {
        stats.gaveUp += events
        this.#dequeued(events)
      },
    }
  }

  /**
   * Starts sending the apps' webhooks, made of their channel events. For a static app list it
   * listens only to the event types some endpoint wants (channel occupancy is tracked across
   * the cluster only while listened to); for apps from a lookup it listens to all of them.
   */
  static start(events: PusherEvents, apps: AppRegistry, options: ResolvedWebhookOptions, log: FastifyBaseLogger): WebhookSender {
    const sender = new WebhookSender(options, log)
    let wanted: Set<WebhookEventType>
    if (apps.dynamic) {
      wanted = new Set(WEBHOOK_EVENT_TYPES)
    } else {
      wanted = new Set()
      for (const app of apps.list()) {
        for (const webhook of checkWebhooks(app.id, app.config.webhooks)) for (const type of webhook.eventTypes ?? WEBHOOK_EVENT_TYPES) wanted.add(type)
      }
    }
    const enqueue = (app: PusherApp, event: WebhookEvent): void => sender.enqueue(app, event)
    if (wanted.has('channel_occupied')) events.on('channel_occupied', (event) => enqueue(event.app, channelWebhookEvent('channel_occupied', event)))
    if (wanted.has('channel_vacated')) events.on('channel_vacated', (event) => enqueue(event.app, channelWebhookEvent('channel_vacated', event)))
    if (wanted.has('cache_miss')) events.on('cache_miss', (event) => enqueue(event.app, channelWebhookEvent('cache_miss', event)))
    if (wanted.has('member_added')) events.on('member_added', (event) => enqueue(event.app, memberWebhookEvent('member_added', event)))
    if (wanted.has('member_removed')) events.on('member_removed', (event) => enqueue(event.app, memberWebhookEvent('member_removed', event)))
    if (wanted.has('client_event')) events.on('client_event', (event) => enqueue(event.app, clientWebhookEvent(event, options.clientEventData)))
    if (wanted.has('subscription_count')) events.on('subscription_count', (event) => enqueue(event.app, subscriptionCountWebhookEvent(event)))
    return sender
  }

  /** A copy of the counters. */
  get stats(): WebhookStats {
    return { ...this.#stats }
  }

  /** Endpoints with events queued now or dropped since start-up, each with its own counts. */
  get endpointStats(): WebhookEndpointStats[] {
    const byId = new Map<string, WebhookEndpointStats>()
    for (const [id, drops] of this.#drops) byId.set(id, { appId: drops.appId, url: drops.url, queued: 0, dropped: drops.count })
    for (const [id, endpoint] of this.#endpoints) {
      const entry = byId.get(id) ?? { appId: endpoint.target.appId, url: endpoint.target.url, queued: 0, dropped: 0 }
      entry.queued = endpoint.size
      byId.set(id, entry)
    }
    return [...byId.values()]
  }

  /** Queues an event for every endpoint of the app that wants it. Never throws, never waits. */
  enqueue(app: PusherApp, event: WebhookEvent, timeMs = Date.now()): void {
    if (this.#closed) return
    let webhooks: readonly WebhookConfig[]
    try {
      webhooks = checkWebhooks(app.id, app.config.webhooks)
    } catch (err) {
      this.#log.error({ err, appId: app.id }, 'roomcast: the app has a webhook that cannot be used; its events are not sent')
      return
    }
    webhooks.forEach((webhook, index) => {
      if (!wants(webhook, event.name, event.channel)) return
      const id = `${app.id}\u0000${index}\u0000${webhook.url}`
      let endpoint = this.#endpoints.get(id)
      if ((endpoint?.size ?? 0) >= this.#options.maxQueuedEventsPerEndpoint) {
        this.#dropped(id, app.id, webhook.url, 'the endpoint')
        return
      }
      if (this.#stats.queued >= this.#options.maxQueuedEvents) {
        this.#dropped(id, app.id, webhook.url, 'every endpoint')
        return
      }
      const target = { url: webhook.url, headers: customHeaders(webhook), appId: app.id, key: app.key, secret: app.secret }
      if (endpoint === undefined) {
        const created = new WebhookEndpoint(target, this.#options, this.#report, this.#log, () => {
          if (created.size === 0 && this.#endpoints.get(id) === created) this.#endpoints.delete(id)
        })
        endpoint = created
        this.#endpoints.set(id, endpoint)
      } else {
        endpoint.target = target
      }
      this.#stats.queued++
      endpoint.push(event, timeMs)
    })
  }

  /** Resolves once nothing is queued or in flight (every event sent or given up). */
  settled(): Promise<void> {
    if (this.#stats.queued === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }

  /**
   * Stops taking events and gives what is queued `closeTimeoutMs` to go out, one attempt each,
   * without retries; whatever is left after that is given up (counted and logged).
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    const endpoints = [...this.#endpoints.values()]
    for (const endpoint of endpoints) endpoint.close()
    let timer: NodeJS.Timeout | undefined
    const timedOut = await Promise.race([
      this.settled().then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.#options.closeTimeoutMs))),
    ])
    clearTimeout(timer)
    if (!timedOut) return
    let discarded = 0
    for (const endpoint of endpoints) {
      endpoint.abort()
      discarded += endpoint.discard()
    }
    if (discarded > 0) this.#log.error({ events: discarded }, 'roomcast: webhooks still queued at shutdown were not sent')
  }

  /** Counts a refused event against its endpoint, logging at most once per interval per endpoint. */
  #dropped(id: string, appId: string, url: string, full: 'the endpoint' | 'every endpoint'): void {
    this.#stats.dropped++
    let drops = this.#drops.get(id)
    if (drops === undefined) {
      drops = { appId, url, count: 0, lastLog: 0 }
      this.#drops.set(id, drops)
    }
    drops.count++
    const now = Date.now()
    if (now - drops.lastLog < DROP_LOG_INTERVAL_MS) return
    drops.lastLog = now
    const queued = this.#endpoints.get(id)?.size ?? 0
    this.#log.error(
      { appId, url, queued, dropped: drops.count, totalQueued: this.#stats.queued },
      full === 'the endpoint'
        ? "roomcast: a webhook endpoint's queue is full; dropping its events"
        : 'roomcast: the webhook queue is full for every endpoint; dropping events',
    )
  }

  #dequeued(events: number): void {
    this.#stats.queued -= events
    if (this.#stats.queued > 0) return
    for (const resolve of this.#idleWaiters.splice(0)) resolve()
  }
}
