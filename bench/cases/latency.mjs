// Case 2: fan-out latency at a fixed rate. N subscribers, RATE messages per second; for each
// message the time from sending to its first and to its last delivery (any subscriber).
import { FanoutDriver } from '../lib/fanout-driver.mjs'
import { Generator, openPublisher, Server } from '../lib/harness.mjs'
import { percentile } from '../lib/stats.mjs'

export const RATE = 20

/** p50/p99 of first and last delivery, in ms, over the messages a driver completed. */
export function latencies(completed) {
  const first = completed.map((entry) => (entry.first - entry.sent) / 1000)
  const last = completed.map((entry) => (entry.last - entry.sent) / 1000)
  return {
    firstP50: percentile(first, 50),
    firstP99: percentile(first, 99),
    lastP50: percentile(last, 50),
    lastP99: percentile(last, 99),
    messages: completed.length,
  }
}

export async function fixedRate({ generator, publisherServer, room, activeWorkers, ctx }) {
  const publisher = await openPublisher(publisherServer.kind, publisherServer.port)
  const driver = new FanoutDriver(generator, publisher, room, activeWorkers)
  try {
    const completed = await driver.fixedRate({ rate: RATE, warmupMs: ctx.quick ? 500 : 2000, measureMs: ctx.quick ? 3000 : 10_000 })
    return latencies(completed)
  } finally {
    driver.close()
    publisher.close()
  }
}

export default {
  name: 'latency',
  title: `Fan-out latency at ${RATE} msg/s`,
  variants: (ctx) => [{ key: `n${ctx.quick ? 200 : 1000}`, label: `N = ${(ctx.quick ? 200 : 1000).toLocaleString('en-US')}, ${RATE} msg/s`, n: ctx.quick ? 200 : 1000 }],
  metrics: [
    { key: 'firstP50', label: 'first p50 (ms)', better: 'lower', format: 'ms' },
    { key: 'firstP99', label: 'first p99 (ms)', better: 'lower', format: 'ms' },
    { key: 'lastP50', label: 'last p50 (ms)', better: 'lower', format: 'ms' },
    { key: 'lastP99', label: 'last p99 (ms)', better: 'lower', format: 'ms' },
  ],
  async measure(kind, variant, ctx) {
    const server = await Server.start(kind, { cores: ctx.plan.server, profile: ctx.profile })
    const generator = await Generator.start(ctx.workers, ctx.plan.generator)
    try {
      const connected = await generator.connect(kind, server.port, variant.n, 'latency', { concurrency: 50 })
      if (connected.failed > 0) throw new Error(`${connected.failed} of ${variant.n} subscribers failed: ${connected.firstError}`)
      const activeWorkers = connected.shares.filter((share) => share > 0).length
      return await fixedRate({ generator, publisherServer: server, room: 'latency', activeWorkers, ctx })
    } finally {
      await generator.stop()
      await server.stop()
    }
  },
}
