// Sending to Pusher clients compiles as users write it: one channel or many, any JSON data.
import { expectTypeOf } from 'expect-type'
import Fastify from 'fastify'
import roomcast, { type Emitter, type PusherAppConfig, type PusherService, signChannel, signUser, signWebhook, type WebhookEvent } from '../../plugin/index.js'

const app = Fastify()

// The option as the README shows it: apps with webhooks, or a lookup for apps kept elsewhere.
await app.register(roomcast, {
  pusher: {
    apps: [
      {
        id: 'app-id',
        key: 'app-key',
        secret: 'app-secret',
        enableClientMessages: true,
        webhooks: [{ url: 'https://example.com/pusher/webhooks', eventTypes: ['channel_occupied', 'member_added'] }],
      },
    ],
  },
})
const stored = new Map<string, PusherAppConfig>()
await app.register(roomcast, {
  pusher: { apps: { byKey: async (key) => stored.get(key), byId: (id) => [...stored.values()].find((config) => config.id === id) } },
})
// @ts-expect-error webhooks name Pusher's event types
await app.register(roomcast, { pusher: { apps: [{ id: 'a', key: 'k', secret: 's', webhooks: [{ url: 'https://x/', eventTypes: ['channel_exploded'] }] }] } })

// `app.roomcast.pusher` is the service itself (it throws a coded error when the option was not given).
expectTypeOf(app.roomcast.pusher).toEqualTypeOf<PusherService>()
expectTypeOf(app.roomcast.pusherEnabled).toBeBoolean()

const pusher = app.roomcast.pusher
await pusher.trigger('app-id', 'my-channel', 'my-event', { message: 'hello' })
await pusher.trigger('app-id', ['presence-a', 'private-b'], 'my-event', 'already JSON text', { socketId: '123.456' })
await pusher.trigger('app-id', ['a'] as readonly string[], 'my-event', [1, 2, 3])
await pusher.trigger('app-id', 'my-channel', 'no-data', undefined)
await pusher.sendToUser('app-id', 'user-1', 'notice', { text: 'hi' })
expectTypeOf(await pusher.members('app-id', 'presence-a')).toHaveProperty('value')
expectTypeOf(await pusher.channelInfo('app-id', 'a')).toHaveProperty('occupied')
await pusher.terminateUserConnections('app-id', 'user-1')

// @ts-expect-error a channel is named by a string
await pusher.trigger('app-id', 42, 'my-event', {})
// @ts-expect-error the event name is a string
await pusher.trigger('app-id', 'my-channel', { event: 'x' }, {})

pusher.on('member_added', (event) => {
  expectTypeOf(event.userId).toEqualTypeOf<string | number>()
  expectTypeOf(event.channel).toBeString()
})
pusher.on('client_event', (event) => {
  expectTypeOf(event.data).toBeUnknown()
})
// @ts-expect-error only Pusher's channel events can be listened to
pusher.on('channel_exploded', () => undefined)

expectTypeOf(pusher.webhooks?.stats).not.toBeAny()

// The standalone emitter, from a worker.
declare const emitter: Emitter
await emitter.pusher('app-id').trigger('my-channel', 'my-event', { message: 'hello' })
await emitter.pusher('app-id').trigger(['a', 'b'], 'my-event', null)
await emitter.pusher('app-id').sendToUser('user-1', 'notice', 'text')
// @ts-expect-error channels are strings
emitter.pusher('app-id').trigger([1], 'my-event', {})

// Auth endpoints and webhook receivers sign with the app's configuration, or just its key and secret.
const config: PusherAppConfig = { id: 'app-id', key: 'app-key', secret: 'app-secret', enableClientMessages: true }
expectTypeOf(signChannel(config, '123.456', 'private-a')).toBeString()
expectTypeOf(signChannel({ key: 'app-key', secret: 'app-secret' }, '123.456', 'presence-a', '{"user_id":"u"}')).toBeString()
expectTypeOf(signUser(config, '123.456', '{"id":"u"}')).toBeString()
// @ts-expect-error a channel signature needs the key too
signChannel({ secret: 'app-secret' }, '123.456', 'private-a')

export function receive(body: string, signature: string, events: WebhookEvent[]): string[] {
  if (signWebhook({ secret: 'app-secret' }, body) !== signature) return []
  return events.map((event) => (event.name === 'member_added' ? `${event.channel}:${event.user_id}` : event.name))
}
