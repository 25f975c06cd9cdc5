/**
 * Webhooks: listens to the Pusher channel events, turns each into Pusher's webhook event for
 * every endpoint of its app that wants it, and queues it there. Queuing is synchronous and
 * bounded, so a slow or dead receiver can never hold up a subscription or a message: at worst
 * its events are dropped, counted and logged.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { PusherApp } from '../apps.js'
import type { PusherService } from '../service.js'
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
  /** Events refused because the queue was full. */
  dropped: number
}

/** Logs about a full queue at most this often. */
const DROP_LOG_INTERVAL_MS = 10_000

export class WebhookSender {
  readonly #options: ResolvedWebhookOptions
  readonly #log: FastifyBaseLogger
  readonly #endpoints = new Map<string, WebhookEndpoint>()
  readonly #stats: WebhookStats = { queued: 0, sent: 0, requests: 0, failedRequests: 0, retries: 0, gaveUp: 0, dropped: 0 }
  readonly #report: EndpointReport
  #idleWaiters: Array<() => void> = []
  #lastDropLog = 0
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
   * Starts sending the webhooks of a Pusher service's apps. For a static app list it listens
   * only to the event types some endpoint wants (channel occupancy is tracked across the
   * cluster only while listened to); for apps from a lookup it listens to all of them.
   */
  static start(service: PusherService, options: ResolvedWebhookOptions, log: FastifyBaseLogger): WebhookSender {
    const sender = new WebhookSender(options, log)
    let wanted: Set<WebhookEventType>
    if (service.apps.dynamic) {
      wanted = new Set(WEBHOOK_EVENT_TYPES)
    } else {
      wanted = new Set()
      for (const app of service.apps.list()) {
        for (const webhook of checkWebhooks(app.id, app.config.webhooks)) for (const type of webhook.eventTypes ?? WEBHOOK_EVENT_TYPES) wanted.add(type)
      }
    }
    const enqueue = (app: PusherApp, event: WebhookEvent): void => sender.enqueue(app, event)
    if (wanted.has('channel_occupied')) service.on('channel_occupied', (event) => enqueue(event.app, channelWebhookEvent('channel_occupied', event)))
    if (wanted.has('channel_vacated')) service.on('channel_vacated', (event) => enqueue(event.app, channelWebhookEvent('channel_vacated', event)))
    if (wanted.has('cache_miss')) service.on('cache_miss', (event) => enqueue(event.app, channelWebhookEvent('cache_miss', event)))
    if (wanted.has('member_added')) service.on('member_added', (event) => enqueue(event.app, memberWebhookEvent('member_added', event)))
    if (wanted.has('member_removed')) service.on('member_removed', (event) => enqueue(event.app, memberWebhookEvent('member_removed', event)))
    if (wanted.has('client_event')) service.on('client_event', (event) => enqueue(event.app, clientWebhookEvent(event)))
    if (wanted.has('subscription_count')) service.on('subscription_count', (event) => enqueue(event.app, subscriptionCountWebhookEvent(event)))
    return sender
  }

  /** A copy of the counters. */
  get stats(): WebhookStats {
    return { ...this.#stats }
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
      if (this.#stats.queued >= this.#options.maxQueuedEvents) {
        this.#stats.dropped++
        const now = Date.now()
        if (now - this.#lastDropLog >= DROP_LOG_INTERVAL_MS) {
          this.#lastDropLog = now
          this.#log.error({ queued: this.#stats.queued, dropped: this.#stats.dropped, url: webhook.url }, 'roomcast: the webhook queue is full; dropping events')
        }
        return
      }
      const target = { url: webhook.url, headers: customHeaders(webhook), appId: app.id, key: app.key, secret: app.secret }
      const id = `${app.id}\u0000${index}\u0000${webhook.url}`
      let endpoint = this.#endpoints.get(id)
      if (endpoint === undefined) {
        endpoint = new WebhookEndpoint(target, this.#options, this.#report, this.#log, () => {
          if (endpoint!.size === 0 && this.#endpoints.get(id) === endpoint) this.#endpoints.delete(id)
        })
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

  #dequeued(events: number): void {
    this.#stats.queued -= events
    if (this.#stats.queued > 0) return
    for (const resolve of this.#idleWaiters.splice(0)) resolve()
  }
}
