// Case 2: fan-out latency at a fixed rate. N subscribers per server, RATE messages per second;
// for each message the time from sending to its first and to its last delivery.
//
// All servers run at once, each with its own N subscribers, and the publisher takes turns
// between them in slices of a quarter second (5 messages): on a shared machine, a stall caused
// by outside load then falls on every server alike instead of on whichever one was being
// measured at that moment.
import { FanoutDriver } from '../lib/fanout-driver.mjs'
import { openPublisher } from '../lib/harness.mjs'
import { withFanoutRig } from '../lib/fanout-rig.mjs'
import { percentile } from '../lib/stats.mjs'

export const RATE = 20

/** p50/p99 of first and last delivery, in ms, over completed messages. */
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

const timing = (ctx) => ({ rate: RATE, warmupMs: ctx.quick ? 1000 : 2000, measureMs: ctx.quick ? 3000 : 15_000 })

/** One server's fixed-rate run (the cluster case): subscribers already connected. */
export async function fixedRate({ generator, publisherServer, room, activeWorkers, ctx }) {
  const publisher = await openPublisher(publisherServer.kind, publisherServer.port)
  const driver = FanoutDriver.single(generator, publisher, room, activeWorkers)
  try {
    return latencies(await driver.fixedRate(timing(ctx)))
  } finally {
    driver.close()
    publisher.close()
  }
}

export default {
  name: 'latency',
  title: `Fan-out latency at ${RATE} msg/s`,
  method: (ctx) => {
    const { warmupMs, measureMs } = timing(ctx)
    return `${RATE} msg/s to N subscribers per server for ${measureMs / 1000} s per server after ${warmupMs / 1000} s of warm-up; for each message, the time from sending to its first and to its last delivery (a monotonic clock shared by all processes). All servers run at once with their own subscribers and the publisher takes turns between them in slices of a quarter second (5 messages), so outside load falls on all of them alike. At this rate the generator's work per delivery, not the server's, is most of the last-delivery time.`
  },
  variants: (ctx) => [{ key: `n${ctx.quick ? 200 : 1000}`, label: `N = ${(ctx.quick ? 200 : 1000).toLocaleString('en-US')}`, n: ctx.quick ? 200 : 1000 }],
  metrics: [
    { key: 'firstP50', label: 'first p50 (ms)', better: 'lower', format: 'ms' },
    { key: 'firstP99', label: 'first p99 (ms)', better: 'lower', format: 'ms' },
    { key: 'lastP50', label: 'last p50 (ms)', better: 'lower', format: 'ms' },
    { key: 'lastP99', label: 'last p99 (ms)', better: 'lower', format: 'ms' },
  ],
  /** One run for every server at once, interleaved; returns server → sample. */
  async measureAll(kinds, variant, ctx) {
    const specs = kinds.map((kind) => ({ name: kind, kind, room: 'latency' }))
    return withFanoutRig(ctx, { specs, n: variant.n }, async ({ driver }) => {
      const completed = await driver.fixedRate(timing(ctx))
      return Object.fromEntries(kinds.map((kind) => [kind, latencies(completed.filter((entry) => entry.group === kind))]))
    })
  },
}
