import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { Emitter } from '../../plugin/index.js'
import { startRedis, uniquePrefix, type TestNode } from '../helpers/redis.js'
import { until } from '../helpers/server.js'
import { appFrames, flush, member, startNodes } from '../helpers/cluster.js'
import { events } from './fixtures/events.js'

const worker = fileURLToPath(new URL('./fixtures/emit-from-worker.ts', import.meta.url))

/** Runs the worker with the same TypeScript loader as this test; resolves with its stdout once it exits by itself. */
function runWorker(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, worker, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`the worker did not exit by itself: ${stderr}`))
    }, 15_000)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

t.test('a worker process with no server reaches clients on every node through the Emitter', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const keyPrefix = uniquePrefix('emitter')
  const nodes = await startNodes(t, ['a', 'b'], { redis: () => redis.client(), keyPrefix })
  const [a, b] = nodes as [TestNode, TestNode]
  const ann = await member(t, a, 'ann', ['lobby'])
  const ben = await member(t, b, 'ben', ['lobby', 'side'])
  const cat = await member(t, b, 'cat', ['side'])

  const result = await runWorker([String(redis.port), keyPrefix, ann.id, ben.id])
  t.equal(result.code, 0, `the worker exited cleanly ${result.stderr}`)
  t.same(JSON.parse(result.stdout), { published: 6, publishFailures: 0 }, 'one publish per channel: a room, a user, a connection, two rooms, everyone')

  await flush(nodes, [ann, ben, cat], { rooms: ['lobby', 'side'], users: ['ben'], connections: [ann.id] })
  t.same(appFrames(ann.client, 'chat.message', 'notice'), [
    { event: 'chat.message', data: { text: 'to the lobby but ben' }, room: 'lobby' },
    { event: 'notice', data: { n: 2 } },
    { event: 'chat.message', data: { text: 'to two rooms' }, room: 'lobby' },
    { event: 'notice', data: { n: 3 } },
  ])
  t.same(
    appFrames(ben.client, 'chat.message', 'notice').sort((x, y) => x.event.localeCompare(y.event)),
    [
      { event: 'chat.message', data: { text: 'to two rooms' }, room: 'lobby' },
      { event: 'notice', data: { n: 1 } },
      { event: 'notice', data: { n: 3 } },
    ],
    'ben: left out by except, his user delivery, the two-room delivery once',
  )
  t.same(appFrames(cat.client, 'chat.message', 'notice'), [
    { event: 'chat.message', data: { text: 'to two rooms' }, room: 'side' },
    { event: 'notice', data: { n: 3 } },
  ])
})

t.test('the Emitter validates against the events and reports failed publishes', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const emitter = new Emitter({ redis: redis.client(), keyPrefix: uniquePrefix('emitter-checks'), events })
  t.throws(() => emitter.broadcast('notice', { n: 'one' } as never), { code: 'invalid_data', details: [{ path: '/n', message: 'Expected integer' }] })
  t.throws(() => emitter.to('x').emit('nope' as never, {} as never), { code: 'unknown_event', message: '"nope" is not a declared toClient event' })
  emitter.toUser('ann').emit('notice', { n: 1 })
  await emitter.flush()
  t.same(emitter.stats, { published: 1, publishFailures: 0 })

  const errors: string[] = []
  const offline = new Emitter({ redis: redis.client({ enableOfflineQueue: false }), onError: (err) => errors.push(err.message) })
  await redis.kill()
  await new Promise((resolve) => setTimeout(resolve, 50))
  offline.broadcast('anything', { n: 1 })
  await offline.flush()
  t.same(offline.stats, { published: 0, publishFailures: 1 })
  t.equal(errors.length, 1, 'onError heard about it')
  t.throws(() => new Emitter({} as never), {
    code: 'ROOMCAST_INVALID_OPTION',
    message: 'roomcast: Emitter redis is required: an ioredis Redis or Cluster client',
  })
  t.throws(() => new Emitter({ redis: { duplicate: () => undefined }, maxPendng: 5 } as never), {
    code: 'ROOMCAST_UNKNOWN_OPTION',
    message: 'roomcast: unknown Emitter option "maxPendng"; did you mean "maxPending"?',
  })
})

t.test('Redis killed: the Emitter keeps at most maxPending messages waiting, the rest fail at once and visibly', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  // The application's client as ioredis makes it by default: an offline queue with no bound.
  const client = redis.client()
  const offlineQueue = (): number => (client as unknown as { offlineQueue: { length: number } }).offlineQueue.length
  const errors: Error[] = []
  const emitter = new Emitter({ redis: client, keyPrefix: uniquePrefix('emitter-bound'), events, maxPending: 100, onError: (err) => void errors.push(err) })
  emitter.broadcast('notice', { n: 0 })
  await emitter.flush()
  t.same(emitter.stats, { published: 1, publishFailures: 0 })

  await redis.kill()
  await until(() => client.status !== 'ready', 5_000, 'the client notices')
  for (let round = 1; round <= 3; round++) {
    for (let n = 0; n < 5_000; n++) emitter.broadcast('notice', { n })
    t.equal(emitter.stats.publishFailures, round * 5_000 - 100, `round ${round}: all but the first 100 failed at once`)
    t.ok(offlineQueue() <= 100, `round ${round}: the client holds ${offlineQueue()} of them, never more than maxPending`)
  }
  t.equal(errors.length, emitter.stats.publishFailures, 'onError heard of every one')
  t.match(errors[0]!.message, /100 messages are already waiting for Redis/)

  // Back up: what waited goes out (or fails once the client gives up on it), and new messages flow.
  await redis.restart()
  await emitter.flush()
  t.equal(emitter.stats.published + emitter.stats.publishFailures, 1 + 15_000, 'every message was accounted for')
  const before = emitter.stats.published
  emitter.broadcast('notice', { n: 1 })
  await emitter.flush()
  t.equal(emitter.stats.published, before + 1)
})
