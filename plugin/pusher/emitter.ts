/**
 * The standalone `Emitter`'s explicit way to pusher-js clients: `emitter.pusher(appId)` sends to
 * one app's channels and signed-in users, with Pusher's framing, over the same Redis bus. The
 * Emitter's own `to` / `toUser` / `broadcast` reach native connections only, so this is the one
 * path from a worker to Pusher clients, and it names the app it speaks for.
 */
import { MAX_EVENT_NAME_LENGTH } from '../../shared/envelope.js'
import type { Delivery } from '../hub/delivery.js'
import { handled, type PublishOutcome } from '../hub/publish-outcome.js'
import { appRoomPrefix, isHiddenChannel, isValidChannelName, USER_CHANNEL_PREFIX, userChannel } from './channels.js'
import { PUSHER_PROTOCOL } from './protocol.js'
import { dataJsonOf, type TriggerOptions } from './service.js'
import { InvalidArgumentError } from '../hub/errors.js'

export class PusherEmitter {
  readonly appId: string
  readonly #publish: (delivery: Delivery) => PublishOutcome
  readonly #roomPrefix: string

  constructor(publish: (delivery: Delivery) => PublishOutcome, appId: string) {
    if (typeof appId !== 'string' || appId === '') throw new InvalidArgumentError('emitter.pusher(appId) needs the app id, a non-empty string')
    this.appId = appId
    this.#publish = publish
    this.#roomPrefix = appRoomPrefix(appId)
  }

  /**
   * Publishes an event to channels of the app, as `app.roomcast.pusher.trigger` does on a node.
   * `data` is a string (usually JSON, as the `pusher` SDK sends it) or any JSON value. Cache
   * channels deliver it but do not keep it for replay: only a node's `trigger` (and the HTTP
   * API) stores cache events. Throws a TypeError for a bad channel or event name. Resolves when
   * Redis took it for every channel, rejects with `publish_failed` otherwise (safe to ignore).
   */
  trigger(channels: string | readonly string[], event: string, data: unknown, options: TriggerOptions = {}): PublishOutcome {
    const list = typeof channels === 'string' ? [channels] : [...channels]
    for (const channel of list) {
      const valid =
        typeof channel === 'string' &&
        (channel.startsWith(USER_CHANNEL_PREFIX) || !isHiddenChannel(channel)) &&
        isValidChannelName(channel, Number.MAX_SAFE_INTEGER)
      if (!valid) throw new InvalidArgumentError(`${JSON.stringify(channel)} is not a Pusher channel name`)
    }
    if (typeof event !== 'string' || event === '' || event.length > MAX_EVENT_NAME_LENGTH) {
      throw new InvalidArgumentError(`a Pusher event name is a string of 1 to ${MAX_EVENT_NAME_LENGTH} characters`)
    }
    const dataJson = dataJsonOf(data)
    const outcomes: PublishOutcome[] = []
    for (const channel of list) {
      const delivery: Delivery = { target: { kind: 'rooms', rooms: [this.#roomPrefix + channel] }, event, protocol: PUSHER_PROTOCOL }
      if (dataJson !== undefined) delivery.data = dataJson
      if (options.socketId !== undefined) delivery.except = [options.socketId]
      outcomes.push(this.#publish(delivery))
    }
    return outcomes.length === 1 ? outcomes[0]! : handled(Promise.all(outcomes).then(() => undefined))
  }

  /** Sends an event to every connection where the user is signed in (`#server-to-user-<id>`), on every node. */
  sendToUser(userId: string, event: string, data: unknown): PublishOutcome {
    if (typeof userId !== 'string' || userId === '') throw new InvalidArgumentError('a Pusher user id is a non-empty string')
    return this.trigger(userChannel(userId), event, data)
  }
}
