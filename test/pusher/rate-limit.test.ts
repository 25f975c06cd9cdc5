import t from 'tap'
import { MemoryAdapter } from '../../plugin/adapter/memory.js'
import { until } from '../helpers/server.js'
import { APP, connected, once, pusherJs, rawPusher, startPusherServer } from '../helpers/pusher.js'

t.test('malformed, binary and unknown frames count against the rate limit: a flood closes with 4100', async (t) => {
  const server = await startPusherServer({ rateLimit: { max: 10, windowMs: 60_000 }, pusher: { apps: [APP], maxChannelsPerConnection: 5 } })
  t.teardown(() => server.app.close())
  const { client } = await rawPusher(server.url())
  t.teardown(() => client.close())
  const junk = ['not json', '[]', '{"event":42}', '{"event":"pusher:nope"}', '{"event":"pusher:subscribe"', '{"event":"pusher:subscribe","data":{}}']
  for (let i = 0; i < 300; i++) {
    if (i % 7 === 6) client.ws.send(Buffer.from([1, 2, 3]), { binary: true })
    else client.ws.send(junk[i % junk.length]!)
  }
  const closed = await client.whenClosed()
  t.equal(closed.code, 4100)
  t.same(client.all('pusher:error').at(-1), { event: 'pusher:error', data: { code: 4100, message: 'Too many messages.' } })
  const answers = client.all('pusher:error').length - 1
  // 10 in the window, plus at most the connection's one-time allowance of 5 subscribe-looking frames.
  t.ok(answers <= 15, `${answers} frames were answered before the close`)
})

t.test('a subscribe to a channel already held: no member list, no cluster query, no cache replay', async (t) => {
  // Counts the cluster queries (presence member lists) the server asks its adapter for.
  const adapter = new MemoryAdapter()
  let queries = 0
  const query = adapter.query.bind(adapter)
  adapter.query = (q) => {
    queries++
    return query(q)
  }
  const server = await startPusherServer({ rateLimit: false, adapter })
  t.teardown(() => server.app.close())
  const sdk = server.sdk()
  const members = await Promise.all(
    Array.from({ length: 5 }, async (_, i) => {
      const { client, socketId } = await rawPusher(server.url())
      t.teardown(() => client.close())
      const channelData = JSON.stringify({ user_id: `u${i}`, user_info: { name: 'x'.repeat(100) } })
      const { auth } = sdk.authorizeChannel(socketId, 'presence-room', JSON.parse(channelData))
      return { client, auth, channelData }
    }),
  )
  for (const { client, auth, channelData } of members) {
    client.send({ event: 'pusher:subscribe', data: { channel: 'presence-room', auth, channel_data: channelData } })
    await client.next('pusher_internal:subscription_succeeded')
  }
  const queriesBefore = queries
  await sdk.trigger('cache-news', 'headline', { n: 1 })
  const { client: repeater } = members[0]!
  repeater.send({ event: 'pusher:subscribe', data: { channel: 'cache-news' } })
  await repeater.next('pusher_internal:subscription_succeeded')
  await repeater.next('headline')

  for (let i = 0; i < 500; i++) {
    const { auth, channelData } = members[0]!
    repeater.send({ event: 'pusher:subscribe', data: { channel: 'presence-room', auth, channel_data: channelData } })
  }
  for (let i = 0; i < 3; i++) repeater.send({ event: 'pusher:subscribe', data: { channel: 'cache-news' } })
  repeater.send({ event: 'pusher:ping', data: {} })
  await repeater.next('pusher:pong')
  const succeeded = repeater.all('pusher_internal:subscription_succeeded') as Array<{ channel?: string; data?: string }>
  t.equal(succeeded.filter((f) => f.channel === 'presence-room').length, 1, 'the presence member list went out once')
  t.same(
    succeeded.filter((f) => f.channel === 'cache-news').map((f) => f.data),
    ['{}', '{}', '{}', '{}'],
    'another channel gets the same fixed answer each time',
  )
  t.equal(repeater.all('headline').length, 1, 'the cached event is not replayed again')
  t.equal(queries, queriesBefore, 'no cluster query for a channel already held')
  t.equal(repeater.closed, undefined)
})

t.test('pusher-js subscribing to more channels at once than the rate window allows stays connected', async (t) => {
  const server = await startPusherServer({ rateLimit: { max: 5, windowMs: 60_000 }, pusher: { apps: [APP], maxChannelsPerConnection: 20 } })
  t.teardown(() => server.app.close())
  const client = pusherJs(server)
  t.teardown(() => client.disconnect())
  // Subscribed before the connection is up: pusher-js sends all 20 at once when it connects,
  // as it does again after every reconnect.
  const channels = Array.from({ length: 20 }, (_, i) => client.subscribe(`burst-${i}`))
  await connected(client)
  await Promise.all(channels.map((channel) => (channel.subscribed ? undefined : once(channel, 'pusher:subscription_succeeded'))))
  t.equal(client.connection.state, 'connected')
  // The allowance is spent: past the window, further frames close the connection with 4100.
  const states: string[] = []
  client.connection.bind('state_change', ({ current }: { current: string }) => void states.push(current))
  for (let i = 0; i < 5; i++) client.send_event('pusher:ping', {})
  await until(() => states.includes('connecting') || states.includes('unavailable'), 5_000, 'closed for sending too fast')
})
