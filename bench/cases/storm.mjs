// Case 4: connect + authenticate + join storm. Sockets opened as fast as the server takes them
// (CONCURRENCY handshakes in flight per generator worker); connections per second and the
// time from starting a connection to its join being confirmed.
import { selfCpu } from './fanout.mjs'
import { Generator, Server, sleep } from '../lib/harness.mjs'
import { percentile } from '../lib/stats.mjs'

export const CONCURRENCY = 50

export default {
  name: 'storm',
  title: 'Connect + authenticate + join storm',
  variants: (ctx) => [{ key: `n${ctx.quick ? 500 : 3000}`, label: `${(ctx.quick ? 500 : 3000).toLocaleString('en-US')} connections`, n: ctx.quick ? 500 : 3000 }],
  metrics: [
    { key: 'connectionsPerSec', label: 'connections/s', better: 'higher', format: 'int' },
    { key: 'connectionsPerCpuSec', label: 'connections per server CPU-s', better: 'higher', format: 'int' },
    { key: 'p50', label: 'connect→joined p50 (ms)', better: 'lower', format: 'ms' },
    { key: 'p99', label: 'connect→joined p99 (ms)', better: 'lower', format: 'ms' },
    { key: 'serverCpuUtil', label: 'server CPU', better: 'info', format: 'percent' },
    { key: 'generatorCpuUtil', label: 'generator CPU', better: 'info', format: 'percent' },
  ],
  async measure(kind, variant, ctx) {
    const server = await Server.start(kind, { cores: ctx.plan.server, profile: ctx.profile })
    const generator = await Generator.start(ctx.workers, ctx.plan.generator)
    try {
      await generator.connect(kind, server.port, 200, 'warm-up', { concurrency: 20 })
      await generator.closeSockets()
      await sleep(500)
      const serverBefore = server.cpu()
      const generatorBefore = generator.cpu() + selfCpu()
      const t0 = performance.now()
      const result = await generator.connect(kind, server.port, variant.n, 'storm', { concurrency: CONCURRENCY })
      const seconds = (performance.now() - t0) / 1000
      if (result.failed > 0) throw new Error(`${result.failed} of ${variant.n} connections failed: ${result.firstError}`)
      const serverCpu = server.cpu() - serverBefore
      const span = (result.endedAt - result.startedAt) / 1e6
      return {
        connectionsPerSec: result.opened / span,
        connectionsPerCpuSec: result.opened / serverCpu,
        p50: percentile(result.times, 50),
        p99: percentile(result.times, 99),
        serverCpuUtil: serverCpu / seconds,
        generatorCpuUtil: (generator.cpu() + selfCpu() - generatorBefore) / seconds / ctx.generatorCores,
      }
    } finally {
      await generator.stop()
      await server.stop()
    }
  },
}
