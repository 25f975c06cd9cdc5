// Case 5: two roomcast nodes sharing a spawned redis-server through the Redis adapter, the
// subscribers split evenly across the nodes and the publisher on the first. Server CPU is
// both nodes plus Redis.
import { fixedRate } from './latency.mjs'
import { saturate } from './fanout.mjs'
import { Generator, Server } from '../lib/harness.mjs'
import { cpuSeconds } from '../lib/proc.mjs'
import { startRedis } from '../lib/redis.mjs'

export default {
  name: 'cluster',
  title: 'Two roomcast nodes over Redis',
  servers: ['roomcast'],
  /** The case needs the package to export `redisAdapter`. */
  async available() {
    const roomcast = await import('roomcast')
    return typeof roomcast.redisAdapter === 'function'
      ? { ok: true }
      : { ok: false, reason: 'the built package does not export `redisAdapter` yet, so the two-node case was not run' }
  },
  method: () =>
    "two roomcast nodes with `redisAdapter` over a redis-server spawned for the case (`--save '' --appendonly no`), nodes and Redis pinned to the server core; the subscribers are split evenly across the nodes and the publisher is on the first node. The fan-out at saturation as above, with server CPU = both nodes + Redis, then the fixed-rate latency.",
  variants: (ctx) => [
    { key: `n${ctx.quick ? 200 : 1000}`, label: `N = ${(ctx.quick ? 200 : 1000).toLocaleString('en-US')} over 2 nodes`, n: ctx.quick ? 200 : 1000 },
  ],
  metrics: [
    { key: 'deliveriesPerSec', label: 'deliveries/s', better: 'higher', format: 'int' },
    { key: 'deliveriesPerCpuSec', label: 'deliveries per CPU-s (nodes + Redis)', better: 'higher', format: 'int' },
    { key: 'serverCpuUtil', label: 'nodes + Redis CPU', better: 'info', format: 'percent' },
    { key: 'generatorCpuUtil', label: 'generator CPU', better: 'info', format: 'percent' },
    { key: 'lastP50', label: `last p50 at 20 msg/s (ms)`, better: 'lower', format: 'ms' },
    { key: 'lastP99', label: `last p99 at 20 msg/s (ms)`, better: 'lower', format: 'ms' },
  ],
  async measure(kind, variant, ctx) {
    const redis = await startRedis(ctx.plan.server)
    const nodes = []
    let generator
    try {
      for (let i = 0; i < 2; i++)
        nodes.push(await Server.start(kind, { cores: ctx.plan.server, profile: ctx.profile, args: ['--redis-port', String(redis.port)] }))
      generator = await Generator.start(ctx.workers, ctx.plan.generator)
      const half = Math.floor(variant.n / 2)
      for (const [i, count] of [half, variant.n - half].entries()) {
        const connected = await generator.connect(kind, nodes[i].port, count, 'fanout', { concurrency: 50, user: `node${i}` })
        if (connected.failed > 0) throw new Error(`${connected.failed} subscribers failed on node ${i}: ${connected.firstError}`)
      }
      const activeWorkers = Math.min(ctx.workers, variant.n)
      const context = { generator, publisherServer: nodes[0], room: 'fanout', activeWorkers, ctx }
      const throughput = await saturate({ ...context, servers: nodes, extraCpu: () => cpuSeconds(redis.pid) })
      const latency = await fixedRate(context)
      return { ...throughput, lastP50: latency.lastP50, lastP99: latency.lastP99 }
    } finally {
      await generator?.stop()
      for (const node of nodes) await node.stop()
      await redis.stop()
    }
  },
}
