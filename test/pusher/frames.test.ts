import { createHmac } from 'node:crypto'
import t from 'tap'
import type { RawClient } from '../helpers/server.js'
import { APP, nextText, rawPusher, startPusherServer, type PusherFrame } from '../helpers/pusher.js'

t.test('public channel: subscription_succeeded with "{}", server triggers in Pusher framing', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const { client } = await rawPusher(server.url())
  t.teardown(() => client.close())
  const succeeded = nextText(client.ws, (text) => text.includes('subscription_succeeded'))
  client.send({ event: 'pusher:subscribe', data: { channel: 'news', auth: '' } })
  t.equal(await succeeded, '{"event":"pusher_internal:subscription_succeeded","channel":"news","data":"{}"}')

  const pusherText = nextText(client.ws, (text) => text.includes('headline'))
  await server.app.roomcast.pusher!.trigger(APP.id, ['news'], 'headline', { title: 'hi', n: 1 })
  t.equal(await pusherText, '{"event":"headline","channel":"news","data":"{\\"title\\":\\"hi\\",\\"n\\":1}"}')

  // data may also arrive as a JSON string (Pusher's double encoding on input).
  const again = nextText(client.ws, (text) => text.includes('other'))
  client.send({ event: 'pusher:subscribe', data: JSON.stringify({ channel: 'other' }) })
  t.equal(await again, '{"event":"pusher_internal:subscription_succeeded","channel":"other","data":"{}"}')

  // Unsubscribe has no reply; the channel stops receiving.
  client.send({ event: 'pusher:unsubscribe', data: { channel: 'news' } })
  client.send({ event: 'pusher:ping', data: {} })
  await client.next('pusher:pong')
  await server.app.roomcast.pusher!.trigger(APP.id, ['news'], 'headline', { title: 'gone' })
  await server.app.roomcast.pusher!.trigger(APP.id, ['other'], 'marker', 1)
  await client.next('marker')
  t.equal(client.all('headline').length, 1, 'no delivery after unsubscribe')
})

t.test('channel names: length and characters, anchored prefixes', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const { client } = await rawPusher(server.url())
  t.teardown(() => client.close())
  const long = 'a'.repeat(165)
  client.send({ event: 'pusher:subscribe', data: { channel: long } })
  t.same(await client.next('pusher:subscription_error'), {
    event: 'pusher:subscription_error',
    channel: long,
    data: { type: 'LimitReached', error: 'The channel name is longer than the allowed 164 characters.', status: 4009 },
  })
  client.send({ event: 'pusher:subscribe', data: { channel: 'bad channel!' } })
  t.same(await client.next('pusher:subscription_error'), {
    event: 'pusher:subscription_error',
    channel: 'bad channel!',
    data: {
      error: 'The channel name is not allowed. Read channel conventions: https://pusher.com/docs/channels/using_channels/channels/#channel-naming-conventions',
      status: 4009,
    },
  })
  client.send({ event: 'pusher:subscribe', data: { channel: '#server-to-user-someone' } })
  t.equal((await client.next('pusher:subscription_error')).data.status, 4009, 'another user channel is refused')
  // Only an anchored prefix makes a channel private: this one is public.
  client.send({ event: 'pusher:subscribe', data: { channel: 'my-private-room' } })
  t.equal(((await client.next('pusher_internal:subscription_succeeded')) as PusherFrame).channel, 'my-private-room')
  t.equal(client.all('pusher:subscription_error').length, 3)
})

t.test('private and encrypted channels: HMAC of socket_id:channel, AuthError otherwise', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const sdk = server.sdk()
  const { client, socketId } = await rawPusher(server.url())
  t.teardown(() => client.close())

  client.send({ event: 'pusher:subscribe', data: { channel: 'private-x', auth: 'app-key:' + '0'.repeat(64) } })
  t.same(await client.next('pusher:subscription_error'), {
    event: 'pusher:subscription_error',
    channel: 'private-x',
    data: { type: 'AuthError', error: 'The connection is unauthorized.', status: 401 },
  })
  client.send({ event: 'pusher:subscribe', data: { channel: 'private-x' } })
  t.equal((await client.next('pusher:subscription_error')).data.status, 401, 'a missing auth is refused')
  // A signature for another socket does not work here.
  client.send({ event: 'pusher:subscribe', data: { channel: 'private-x', auth: sdk.authorizeChannel('1.2', 'private-x').auth } })
  t.equal((await client.next('pusher:subscription_error')).data.status, 401)

  client.send({ event: 'pusher:subscribe', data: { channel: 'private-x', auth: sdk.authorizeChannel(socketId, 'private-x').auth } })
  t.same(await client.next('pusher_internal:subscription_succeeded'), { event: 'pusher_internal:subscription_succeeded', channel: 'private-x', data: '{}' })

  const encrypted = sdk.authorizeChannel(socketId, 'private-encrypted-x')
  t.ok(encrypted.shared_secret, 'the SDK hands the browser a shared secret; the server never sees it')
  client.send({ event: 'pusher:subscribe', data: { channel: 'private-encrypted-x', auth: encrypted.auth } })
  t.equal(((await client.next('pusher_internal:subscription_succeeded')) as PusherFrame).channel, 'private-encrypted-x')
})

t.test('presence: members double-encoded, member_added/removed deduplicated by user, ids keep their JSON type', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const sdk = server.sdk()
  const join = async (client: RawClient, socketId: string, member: { user_id: string | number; user_info?: unknown }): Promise<PusherFrame> => {
    const channelData = JSON.stringify(member)
    const auth = sdk.authorizeChannel(socketId, 'presence-r', member as { user_id: string }).auth
    client.send({ event: 'pusher:subscribe', data: { channel: 'presence-r', auth, channel_data: channelData } })
    return client.next('pusher_internal:subscription_succeeded')
  }
  const a = await rawPusher(server.url())
  const b = await rawPusher(server.url())
  const b2 = await rawPusher(server.url())
  t.teardown(() => [a, b, b2].forEach(({ client }) => client.close()))

  const first = nextText(a.client.ws, (text) => text.includes('subscription_succeeded'))
  await join(a.client, a.socketId, { user_id: 'u1', user_info: { name: 'A' } })
  t.equal(
    await first,
    '{"event":"pusher_internal:subscription_succeeded","channel":"presence-r","data":"{\\"presence\\":{\\"ids\\":[\\"u1\\"],\\"hash\\":{\\"u1\\":{\\"name\\":\\"A\\"}},\\"count\\":1}}"}',
  )

  const added = nextText(a.client.ws, (text) => text.includes('member_added'))
  const succeeded = await join(b.client, b.socketId, { user_id: 2, user_info: { name: 'B' } })
  t.equal(await added, '{"event":"pusher_internal:member_added","channel":"presence-r","data":"{\\"user_id\\":2,\\"user_info\\":{\\"name\\":\\"B\\"}}"}')
  t.same(JSON.parse(succeeded.data as string), { presence: { ids: ['u1', 2], hash: { u1: { name: 'A' }, 2: { name: 'B' } }, count: 2 } })
  t.equal(b.client.all('pusher_internal:member_added').length, 0, 'the joiner is not told of itself')

  // The same user again from another socket: no member_added, still two members.
  const again = await join(b2.client, b2.socketId, { user_id: 2, user_info: { name: 'B' } })
  t.equal(JSON.parse(again.data as string).presence.count, 2)

  // Client event with the sender's user id; not echoed to the sender.
  const relayed = nextText(a.client.ws, (text) => text.includes('client-hi'))
  b.client.send({ event: 'client-hi', channel: 'presence-r', data: { text: 'yo' } })
  t.equal(await relayed, '{"event":"client-hi","channel":"presence-r","data":"{\\"text\\":\\"yo\\"}","user_id":2}')
  await b2.client.next('client-hi')

  // One of the user's two sockets leaves: nothing. The last one leaves: member_removed.
  b.client.send({ event: 'pusher:unsubscribe', data: { channel: 'presence-r' } })
  const removed = nextText(a.client.ws, (text) => text.includes('member_removed'))
  b2.client.close()
  t.equal(await removed, '{"event":"pusher_internal:member_removed","channel":"presence-r","data":"{\\"user_id\\":2}"}')
  t.equal(a.client.all('pusher_internal:member_added').length, 1)
  t.equal(a.client.all('pusher_internal:member_removed').length, 1)
  t.equal(b.client.all('client-hi').length, 0, 'the sender does not get its own client event')

  const members = await server.app.roomcast.pusher!.members(APP.id, 'presence-r')
  t.same(members.value, [{ user_id: 'u1', user_info: { name: 'A' } }])
})

t.test('presence: a member whose id is "__proto__" is in the hash like any other', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const sdk = server.sdk()
  const first = await rawPusher(server.url())
  const second = await rawPusher(server.url())
  t.teardown(() => [first, second].forEach(({ client }) => client.close()))
  const join = async ({ client, socketId }: typeof first, member: { user_id: string; user_info: unknown }): Promise<PusherFrame> => {
    client.send({ event: 'pusher:subscribe', data: { channel: 'presence-odd', ...sdk.authorizeChannel(socketId, 'presence-odd', member) } })
    return client.next('pusher_internal:subscription_succeeded')
  }
  await join(first, { user_id: '__proto__', user_info: { name: 'Proto' } })
  const succeeded = await join(second, { user_id: 'constructor', user_info: { name: 'Con' } })
  const presence = (JSON.parse(succeeded.data as string) as { presence: { ids: string[]; hash: Record<string, unknown>; count: number } }).presence
  t.same([...presence.ids].sort(), ['__proto__', 'constructor'])
  t.equal(presence.count, 2)
  t.same(Object.keys(presence.hash).sort(), ['__proto__', 'constructor'], 'both in the hash, as own keys')
  t.same(Object.getOwnPropertyDescriptor(presence.hash, '__proto__')?.value, { name: 'Proto' })
})

t.test('presence refusals: bad channel_data, user_info too large, member limit by distinct users', async (t) => {
  const server = await startPusherServer({ apps: [{ ...APP, maxPresenceMembers: 1, maxPresenceMemberSizeKb: 1 }] })
  t.teardown(() => server.app.close())
  const sdk = server.sdk()
  const { client, socketId } = await rawPusher(server.url())
  t.teardown(() => client.close())
  const subscribe = (channelData: string): void => {
    const auth = sdk.authorizeChannel(socketId, 'presence-a', JSON.parse(channelData)).auth
    client.send({ event: 'pusher:subscribe', data: { channel: 'presence-a', auth, channel_data: channelData } })
  }
  // Signed but without a user id (the SDK refuses to sign that, so this one is signed by hand).
  const signed = createHmac('sha256', APP.secret).update(`${socketId}:presence-a:{"name":"x"}`).digest('hex')
  client.send({ event: 'pusher:subscribe', data: { channel: 'presence-a', auth: `app-key:${signed}`, channel_data: '{"name":"x"}' } })
  t.same((await client.next('pusher:subscription_error')).data, {
    type: 'ServerError',
    error: 'channel_data must contain a user_id (a string or a number).',
    status: 4302,
  })
  subscribe(JSON.stringify({ user_id: 'big', user_info: { blob: 'x'.repeat(1100) } }))
  t.same((await client.next('pusher:subscription_error')).data, { type: 'LimitReached', error: 'The user_info is larger than 1 KiB.', status: 4301 })
  client.send({ event: 'pusher:subscribe', data: { channel: 'presence-a', auth: 'x' } })
  t.same((await client.next('pusher:subscription_error')).data.type, 'ServerError', 'a presence subscription needs channel_data')

  subscribe(JSON.stringify({ user_id: 'u1' }))
  await client.next('pusher_internal:subscription_succeeded')
  const other = await rawPusher(server.url())
  t.teardown(() => other.client.close())
  const same = await rawPusher(server.url())
  t.teardown(() => same.client.close())
  const sign = (id: string, member: object): string => server.sdk().authorizeChannel(id, 'presence-a', member as { user_id: string }).auth
  other.client.send({
    event: 'pusher:subscribe',
    data: { channel: 'presence-a', auth: sign(other.socketId, { user_id: 'u2' }), channel_data: '{"user_id":"u2"}' },
  })
  t.same((await other.client.next('pusher:subscription_error')).data, {
    type: 'LimitReached',
    error: 'The maximum members per presence channel limit was reached',
    status: 4100,
  })
  // The same user from a second socket is not a new member.
  same.client.send({
    event: 'pusher:subscribe',
    data: { channel: 'presence-a', auth: sign(same.socketId, { user_id: 'u1' }), channel_data: '{"user_id":"u1"}' },
  })
  t.equal(JSON.parse((await same.client.next('pusher_internal:subscription_succeeded')).data as string).presence.count, 1)
})

t.test('cache channels: pusher:cache_miss, then the last triggered event replayed', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const misses: string[] = []
  server.app.roomcast.pusher!.on('cache_miss', ({ channel }) => {
    misses.push(channel)
  })
  const { client } = await rawPusher(server.url())
  t.teardown(() => client.close())
  client.send({ event: 'pusher:subscribe', data: { channel: 'cache-z' } })
  await client.next('pusher_internal:subscription_succeeded')
  t.same(await client.next('pusher:cache_miss'), { event: 'pusher:cache_miss', channel: 'cache-z' })
  t.same(misses, ['cache-z'])

  await server.app.roomcast.pusher!.trigger(APP.id, ['cache-z'], 'cached-evt', '{"v":1}')
  t.same(await client.next('cached-evt'), { event: 'cached-evt', channel: 'cache-z', data: '{"v":1}' })
  await server.app.roomcast.pusher!.trigger(APP.id, ['cache-z'], 'cached-evt', { v: 2 })
  await client.next('cached-evt')

  const late = await rawPusher(server.url())
  t.teardown(() => late.client.close())
  const replay = nextText(late.client.ws, (text) => text.includes('cached-evt'))
  late.client.send({ event: 'pusher:subscribe', data: { channel: 'cache-z' } })
  t.equal(await replay, '{"event":"cached-evt","channel":"cache-z","data":"{\\"v\\":2}"}')
  t.equal(late.client.all('pusher:cache_miss').length, 0)
})

t.test('trigger: socket_id exclusion, one frame per channel, non-JSON strings kept as strings', async (t) => {
  const server = await startPusherServer()
  t.teardown(() => server.app.close())
  const a = await rawPusher(server.url())
  const b = await rawPusher(server.url())
  t.teardown(() => [a, b].forEach(({ client }) => client.close()))
  for (const { client } of [a, b]) {
    client.send({ event: 'pusher:subscribe', data: { channel: 'c1' } })
    client.send({ event: 'pusher:subscribe', data: { channel: 'c2' } })
    await client.next((f) => f.event === 'pusher_internal:subscription_succeeded' && (f as PusherFrame).channel === 'c2')
  }
  await server.app.roomcast.pusher!.trigger(APP.id, ['c1', 'c2'], 'evt', 'plain text', { socketId: a.socketId })
  const first = await b.client.next('evt')
  const second = await b.client.next('evt')
  t.same([first, second].map((f) => (f as PusherFrame).channel).sort(), ['c1', 'c2'])
  t.equal(first.data, '"plain text"', 'a non-JSON string travels as its JSON text')
  t.equal(JSON.parse(first.data as string), 'plain text', 'which pusher-js parses back to the same string')
  await server.app.roomcast.pusher!.trigger(APP.id, ['c1'], 'marker', {})
  await a.client.next('marker')
  t.equal(a.client.all('evt').length, 0, 'the excluded socket got nothing')
})
