// Case 1b: the fan-out of case 1 to a room with history (`history: [{ match: '*', size: 100 }]`):
// every publication is stored before it is delivered and carries its stream position. On one
// node (the in-process store) and on two nodes over Redis (one script per publication: store,
// expiry and bus publish in one round trip). Compare with `fanout` and `cluster`.
import { saturate } from './fanout.mjs'
import { Generator, Server } from '../lib/harness.mjs'
import { cpuSeconds } from '../lib/proc.mjs'
import { startRedis } from '../lib/redis.mjs'

/** Publications each room keeps. */
const SIZE = 100

export default {
  name: 'fanout-history',
  title: 'Fan-out to a room with history',
  servers: ['roomcast'],
  /** The case needs a build with the `history` option (and `redisAdapter` for its Redis variant). */
  async available() {
    const roomcast = await import('roomcast')
    return typeof roomcast.redisAdapter === 'function'
      ? { ok: true }
      : { ok: false, reason: 'the built package does not export `redisAdapter`, so the fan-out with history was not run' }
  },
  method: (ctx) =>
    `the fan-out at saturation of the \`fanout\` case (one publisher, one room of N subscribers, a closed loop of in-flight messages, ${ctx.quick ? 2 : 5} s counted after a warm-up) to a room that keeps its last ${SIZE} publications: each one is stored, then delivered with its offset and epoch. "one node": the in-process adapter's store. "two nodes over Redis": the \`cluster\` case's setup (the subscribers split over two nodes, the publisher on the first, a spawned redis-server), each publication one Lua script that stores it and publishes it; server CPU = both nodes + Redis.`,
  variants: (ctx) => {
    const n = ctx.sizes?.[0] ?? (ctx.quick ? 200 : 1000)
    const label = n.toLocaleString('en-US')
    return [
      { key: `memory-n${n}`, label: `N = ${label}, one node`, n, redis: false },
      { key: `redis-n${n}`, label: `N = ${label} over 2 nodes and Redis`, n, redis: true },
    ]
  },
  metrics: [
    { key: 'deliveriesPerSec', label: 'deliveries/s', better: 'higher', format: 'int' },
    { key: 'messagesPerSec', label: 'publications/s', better: 'higher', format: 'int' },
    { key: 'deliveriesPerCpuSec', label: 'deliveries per server CPU-s', better: 'higher', format: 'int' },
    { key: 'serverCpuUtil', label: 'server CPU', better: 'info', format: 'percent' },
    { key: 'generatorCpuUtil', label: 'generator CPU', better: 'info', format: 'percent' },
  ],
  async measure(kind, variant, ctx) {
    const redis = variant.redis ? await startRedis(ctx.plan.server) : undefined
    const args = ['--history', String(SIZE), ...(redis === undefined ? [] : ['--redis-port', String(redis.port)])]
    const nodes = []
    let generator
    try {
      for (let i = 0; i < (redis === undefined ? 1 : 2); i++) nodes.push(await Server.start(kind, { cores: ctx.plan.server, profile: ctx.profile, args }))
      generator = await Generator.start(ctx.workers, ctx.plan.generator)
      const share = Math.floor(variant.n / nodes.length)
      for (const [i, node] of nodes.entries()) {
        const count = i === nodes.length - 1 ? variant.n - share * i : share
        const connected = await generator.connect(kind, node.port, count, 'fanout', { concurrency: 50, user: `node${i}` })
        if (connected.failed > 0) throw new Error(`${connected.failed} subscribers failed on node ${i}: ${connected.firstError}`)
      }
      const activeWorkers = Math.min(ctx.workers, variant.n)
      const extraCpu = redis === undefined ? () => 0 : () => cpuSeconds(redis.pid)
      const result = await saturate({ generator, servers: nodes, publisherServer: nodes[0], room: 'fanout', activeWorkers, ctx, extraCpu })
      result.messagesPerSec = result.deliveriesPerSec / variant.n
      return result
    } finally {
      await generator?.stop()
      for (const node of nodes) await node.stop()
      await redis?.stop()
    }
  },
}
