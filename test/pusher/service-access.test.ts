// `app.roomcast.pusher` as applications reach it: the service when the option is given, a coded
// error when it is not, and `trigger` with one channel name as well as with a list.
import t from 'tap'
import { PusherNotEnabledError } from '../../plugin/index.js'
import { startServer } from '../helpers/server.js'
import { APP, nextText, rawPusher, startPusherServer } from '../helpers/pusher.js'

t.test('without the pusher option, reading app.roomcast.pusher throws ROOMCAST_PUSHER_NOT_ENABLED', async (t) => {
  const { app } = await startServer({})
  t.teardown(() => app.close())
  t.equal(app.roomcast.pusherEnabled, false)
  const error = t.throws(() => app.roomcast.pusher) as InstanceType<typeof PusherNotEnabledError>
  t.ok(error instanceof PusherNotEnabledError)
  t.equal(error.code, 'ROOMCAST_PUSHER_NOT_ENABLED')
  t.equal(
    error.message,
    'roomcast: app.roomcast.pusher needs the pusher option: register roomcast with { pusher: { apps: [...] } } (app.roomcast.pusherEnabled tells)',
  )
})

t.test('with it, app.roomcast.pusher is the service, and trigger takes one channel name or a list', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  t.equal(server.app.roomcast.pusherEnabled, true)
  const { client } = await rawPusher(server.url())
  t.teardown(() => client.close())
  for (const channel of ['news', 'n']) {
    const subscribed = nextText(client.ws, (text) => text.includes('subscription_succeeded') && text.includes(`"channel":"${channel}"`))
    client.send({ event: 'pusher:subscribe', data: { channel } })
    await subscribed
  }

  // One name is one channel: `news`, not the channels `n`, `e`, `w` and `s`.
  const single = nextText(client.ws, (text) => text.includes('"headline"'))
  await server.app.roomcast.pusher.trigger(APP.id, 'news', 'headline', { title: 'one' })
  t.equal(await single, '{"event":"headline","channel":"news","data":"{\\"title\\":\\"one\\"}"}')

  const both = client.next((frame) => frame.event === 'both' && frame.channel === 'news')
  const other = client.next((frame) => frame.event === 'both' && frame.channel === 'n')
  await server.app.roomcast.pusher.trigger(APP.id, ['news', 'n'], 'both', 'text')
  await Promise.all([both, other])

  // The marker arrives after everything above: nothing else reached `n`.
  await server.app.roomcast.pusher.trigger(APP.id, 'n', 'marker', 1)
  await client.next((frame) => frame.event === 'marker')
  t.same(
    client.frames.filter((frame) => frame.channel === 'n' && !frame.event.startsWith('pusher')).map((frame) => frame.event),
    ['both', 'marker'],
    'the single-name trigger did not reach the channel n',
  )
})
