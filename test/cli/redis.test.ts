import t from 'tap'
import { APP, connected, once, pusherJs } from '../helpers/pusher.js'
import { cleanEnv, configFile, ensureBuilt, startCli, standalonePusher } from '../helpers/cli.js'
import { startRedis, uniquePrefix } from '../helpers/redis.js'
import { until } from '../helpers/server.js'

/** Two `roomcast start` processes over one spawned redis-server behave as one server. */

t.before(ensureBuilt)

t.test('two instances over Redis: a trigger on one reaches pusher-js on the other; channel info and presence are cluster-wide', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const keyPrefix = uniquePrefix('cli')
  const file = configFile({ host: '127.0.0.1', port: 0, logLevel: 'warn', apps: [APP], shutdownGracePeriod: 500 })
  t.teardown(() => file.remove())
  // One names Redis with a flag, the other with soketi's variables.
  const one = await startCli(
    ['--config', file.path, '--log-level', 'info', '--redis-url', `redis://127.0.0.1:${redis.port}`],
    cleanEnv({ ROOMCAST_REDIS_KEY_PREFIX: keyPrefix }),
  )
  t.teardown(() => one.cli.kill())
  const two = await startCli(
    ['--config', file.path, '--log-level', 'info'],
    cleanEnv({
      SOKETI_ADAPTER_DRIVER: 'redis',
      SOKETI_DB_REDIS_HOST: '127.0.0.1',
      SOKETI_DB_REDIS_PORT: String(redis.port),
      SOKETI_DB_REDIS_KEY_PREFIX: keyPrefix,
    }),
  )
  t.teardown(() => two.cli.kill())
  t.equal(one.cli.logs.find((line) => line.msg === 'roomcast: listening')?.redis, true)
  t.equal(two.cli.logs.find((line) => line.msg === 'roomcast: listening')?.redis, true)

  const onTwo = pusherJs(standalonePusher(two.port, APP), { presence: () => ({ user_id: 'ann' }) })
  const onOne = pusherJs(standalonePusher(one.port, APP), { presence: () => ({ user_id: 'bob' }) })
  t.teardown(() => [onTwo, onOne].forEach((client) => client.disconnect()))
  await Promise.all([connected(onTwo), connected(onOne)])
  const news = onTwo.subscribe('news')
  await once(news, 'pusher:subscription_succeeded')
  const sdkOne = standalonePusher(one.port, APP).sdk()
  await until(
    async () => ((await (await sdkOne.get({ path: '/channels/news' })).json()) as { occupied: boolean }).occupied,
    5000,
    'node one sees the channel of node two',
  )
  const received = once<{ from: string }>(news, 'flash')
  await sdkOne.trigger('news', 'flash', { from: 'one' })
  t.same(await received, { from: 'one' }, 'a trigger on instance one reaches a client of instance two')

  await once(onTwo.subscribe('presence-room'), 'pusher:subscription_succeeded')
  const members = await once<{ count: number }>(onOne.subscribe('presence-room'), 'pusher:subscription_succeeded')
  t.equal(members.count, 2, 'presence members across both instances')

  one.cli.child.kill('SIGTERM')
  two.cli.child.kill('SIGTERM')
  t.same(await one.cli.exited, { code: 0, signal: null })
  t.same(await two.cli.exited, { code: 0, signal: null })
})
