import type { AnyEvents, EventsDefinition } from '../shared/events.js'
import type { RedisClient } from './adapter/redis/client.js'
import { isClusterClient } from './adapter/redis/connection.js'
import { RedisHistory } from './adapter/redis/history.js'
import { Keyspace } from './adapter/redis/keyspace.js'
import { BusPublisher } from './adapter/redis/publisher.js'
import { randomToken } from './adapter/redis/registry.js'
import { encodeDelivery } from './adapter/cluster/wire.js'
import type { Delivery } from './hub/delivery.js'
import type { HistoryPolicy } from './hub/history.js'
import { DeliveryApi } from './hub/delivery-api.js'
import { EmitterOptionsSchema } from './emitter-options.js'
import { checkOptions, invalidOption } from './hub/option-check.js'
import { historyResolver, type HistoryOption } from './hub/history-policy.js'
import { handled, publishFailed, type PublishOutcome } from './hub/publish-outcome.js'
import { publishToStreams } from './hub/stream-publish.js'
import { NATIVE_PROTOCOL } from './native/codec.js'
import { PusherEmitter } from './pusher/emitter.js'

export interface EmitterOptions<E extends EventsDefinition = AnyEvents> {
  /**
   * An ioredis `Redis` (single node or Sentinel) or `Cluster`, used as it is: the Emitter
   * publishes through it and never closes it. Its offline queue settings apply, so with the
   * ioredis default a message sent before the client is connected, or while Redis is away,
   * waits for the connection (up to `maxPending` of them). A Cluster client must not have a
   * `keyPrefix` of its own (ioredis would prefix the sharded channels).
   */
  redis: RedisClient
  /** Must match the nodes' `redisAdapter({ keyPrefix })`. Default `roomcast`. */
  keyPrefix?: string
  /** The application's events, to type and validate what is emitted. */
  events?: E
  /** Called for each message Redis did not take (they are also counted in `stats`). */
  onError?: (error: Error) => void
  /**
   * Most messages waiting for Redis at once (sent and not yet acknowledged, or held in the
   * client's offline queue while Redis is away). Past it a new message fails at once: counted
   * in `stats.publishFailures` and reported to `onError`, never buffered, so an outage cannot
   * fill memory. Raise it (or `await flush()` between batches) to emit larger bursts in one
   * go. Default 10 000.
   */
  maxPending?: number
  /**
   * Which rooms keep history: the same rules (or function) as the plugin's `history` option, and
   * it must agree with the nodes'. A publication to such a room is stored in the room's stream
   * and published with its position by one script, like a node's `rooms.to(room).emit(...)`,
   * and `emit` resolves with that position. Default: no room keeps history. Needs a client
   * without a `keyPrefix` of its own (ioredis would prefix the stream's keys).
   */
  history?: HistoryOption
}

export interface EmitterStats {
  /** Messages Redis accepted. */
  published: number
  /** Messages that could not be published. */
  publishFailures: number
}

/**
 * Sends to the clients of a roomcast cluster from any process (a worker, a cron job) through
 * Redis, with no Fastify and no WebSocket server: the same `to(room).except(id).emit(...)`,
 * `toUser`, `toConnection` and `broadcast` as `app.roomcast.emitter` (native connections only;
 * `emitter.pusher(appId)` reaches pusher-js clients), typed and validated by
 * the same events. Messages are serialized once and published on the nodes' channels; every
 * node with recipients delivers them.
 *
 *   const emitter = new Emitter({ redis, events })
 *   await emitter.to('lobby').emit('chat.message', { from: 'cron', text: 'tick' })
 *
 * With `history`, publications to history rooms are stored and published with their position
 * by the same script as a node's (see `RedisHistory`), split per history room like the hub does.
 *
 * `emit` resolves once Redis took the message (a message waiting in the client's offline
 * queue resolves when it is sent), with its position for a history room, and rejects with `RoomcastError('publish_failed')` when it
 * cannot be published (past `maxPending`, or the client gave it up); ignoring it is safe.
 */
export class Emitter<E extends EventsDefinition = AnyEvents> extends DeliveryApi<E> {
  readonly keyPrefix: string
  readonly #publisher: BusPublisher
  readonly #publish: (delivery: Delivery) => PublishOutcome

  constructor(options: EmitterOptions<E>) {
    checkOptions(EmitterOptionsSchema, options, 'Emitter')
    if (isClusterClient(options.redis) && (options.redis.options.keyPrefix ?? '') !== '') {
      // ioredis prefixes the channel of SPUBLISH with the client's key prefix; the nodes would never hear it.
      invalidOption('the Emitter needs a Cluster client without its own keyPrefix (use the Emitter keyPrefix option)')
    }
    const keys = new Keyspace(options.keyPrefix ?? 'roomcast')
    const origin = randomToken()
    const onError = options.onError
    const maxPending = options.maxPending ?? 10_000
    const publisher = new BusPublisher(options.redis, { failFastWhenDown: false, maxInFlight: maxPending, onFailure: (err) => onError?.(err) })
    let sequence = 0
    const publishPlain = (delivery: Delivery): PublishOutcome => {
      const channels = keys.deliveryChannels(delivery.target)
      const text = encodeDelivery(delivery, origin, channels.length > 1 ? ++sequence : undefined)
      // Resolves with nothing: no position outside history rooms.
      return publisher.publishAll(channels, text, emitterPublishFailed) as PublishOutcome
    }
    const history = historyResolver(options.history)
    let publish = (delivery: Delivery): PublishOutcome => handled(publishPlain(delivery))
    if (history !== undefined) {
      if (!isClusterClient(options.redis) && (options.redis.options.keyPrefix ?? '') !== '') {
        invalidOption('an Emitter with history needs a client without its own keyPrefix (use the Emitter keyPrefix option)')
      }
      const streams = new RedisHistory({
        // The script's reply (an array of two) reads the same in either reply mapping.
        connection: options.redis,
        keys,
        busId: origin,
        // No recipients here, so no loopback to ask for: every node delivers it from the bus.
        listening: () => false,
        accepting: () => true,
        waitsForConnection: true,
        // Counted and reported by the publisher, like every other message of the Emitter.
        onFailure: () => {},
        onSuccess: () => {},
      })
      // Through the publisher, so stored publications count in `stats`, `maxPending` and `flush`.
      const store = {
        publish: (room: string, delivery: Delivery, policy: HistoryPolicy) =>
          publisher.command(keys.stream(room).channel, () => streams.publish(room, delivery, policy)),
      }
      publish = (delivery) => handled(publishToStreams(delivery, history, store, publishPlain) ?? publishPlain(delivery))
    }
    super(publish, options.events, NATIVE_PROTOCOL)
    this.keyPrefix = keys.prefix
    this.#publisher = publisher
    this.#publish = publish
  }

  get stats(): EmitterStats {
    return { published: this.#publisher.published, publishFailures: this.#publisher.failures }
  }

  /**
   * The explicit way to pusher-js clients: `emitter.pusher(appId).trigger(channels, event, data)`
   * and `.sendToUser(userId, event, data)`. Everything else the Emitter sends reaches native
   * connections only.
   */
  pusher(appId: string): PusherEmitter {
    return new PusherEmitter(this.#publish, appId)
  }

  /** Resolves when every message emitted so far has been published (or has failed). */
  flush(): Promise<void> {
    return this.#publisher.idle()
  }
}

/** No node got a message Redis did not take. */
function emitterPublishFailed(cause: Error): Error {
  return publishFailed(cause, 'Redis did not take the event: no node got it')
}
