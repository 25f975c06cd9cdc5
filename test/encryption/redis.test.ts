import t from 'tap'
import { clientEncryption } from '../../client/index.js'
import { redisAdapter } from '../../plugin/index.js'
import { startTestServer, testClient } from '../helpers/client.js'
import { startRedis, uniquePrefix } from '../helpers/redis.js'
import { until } from '../helpers/server.js'

// What the README says about the encryption's reach: it ends at the node that holds the socket.
// Between nodes, messages cross Redis as the application sent them, and history rooms keep them
// there as they are. If this test starts failing because Redis sees only ciphertext, the README's
// "What it does not protect" list must change with it.

t.test('between nodes, messages of encrypted clients cross Redis and sit in its history in plaintext', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const keyPrefix = uniquePrefix('encryption-reach')
  const options = { encryption: 'required', history: [{ match: 'vault', size: 10, ttl: 60_000 }] } as const
  const a = await startTestServer({ ...options, adapter: redisAdapter({ redis: redis.client(), keyPrefix }) })
  t.teardown(() => a.close())
  const b = await startTestServer({ ...options, adapter: redisAdapter({ redis: redis.client(), keyPrefix }) })
  t.teardown(() => b.close())

  // Every command Redis receives, as Redis sees it.
  const monitor = await redis.client().monitor()
  t.teardown(() => monitor.disconnect())
  const commands: string[] = []
  monitor.on('monitor', (_time: string, args: string[]) => commands.push(args.join(' ')))

  const alice = testClient(a.url, { transform: clientEncryption(), auth: { name: 'alice' } })
  t.teardown(() => alice.close())
  const bob = testClient(b.url, { transform: clientEncryption(), auth: { name: 'bob' } })
  t.teardown(() => bob.close())
  await Promise.all([alice.ready(), bob.ready()])
  t.ok(alice.encrypted && bob.encrypted, 'both clients encrypt their connection')
  await alice.join('vault')
  await bob.join('vault')
  await until(async () => (await a.app.roomcast.rooms.size('vault')) === 2, 5000, 'both members seen by node a')

  const secret = 'the launch code is 4711'
  const said = new Promise<{ from: string; text: string }>((resolve) => bob.on('said', (data) => resolve(data)))
  alice.emit('say', { room: 'vault', text: secret })
  t.same(await said, { from: 'alice', text: secret }, 'bob, on the other node, reads it')

  await until(() => commands.some((command) => command.includes(secret)), 5000, 'the message in a Redis command')
  t.ok(
    commands.some((command) => /^(EVALSHA|EVAL) /i.test(command) && command.includes(secret)),
    'the history script that stores and publishes it carries the text as it was sent',
  )
  // A room without history: a plain PUBLISH, with the text in it.
  await alice.join('lounge')
  await bob.join('lounge')
  await until(async () => (await a.app.roomcast.rooms.size('lounge')) === 2, 5000, 'both members of lounge seen by node a')
  const chat = 'meet at the usual place'
  const heard = new Promise<{ from: string; text: string }>((resolve) => bob.on('said', (data) => data.text === chat && resolve(data)))
  alice.emit('say', { room: 'lounge', text: chat })
  t.same(await heard, { from: 'alice', text: chat })
  await until(() => commands.some((command) => command.includes(chat)), 5000, 'the lounge message in a Redis command')
  t.ok(
    commands.some((command) => /^S?PUBLISH /i.test(command) && command.includes(chat)),
    'a room without history: PUBLISH carries the text as it was sent',
  )

  // Read straight from Redis, without roomcast: the room's stream holds the text.
  const reader = redis.client()
  const streams: string[] = []
  for (const key of await reader.keys(`*${keyPrefix}*`)) if ((await reader.type(key)) === 'stream') streams.push(key)
  const stored = (await Promise.all(streams.map((key) => reader.xrange(key, '-', '+')))).flat(3).join(' ')
  t.ok(streams.length > 0, 'the history room has a stream in Redis')
  t.ok(stored.includes(secret), 'and the stream holds the text as it was sent')
})
