// Case 1: fan-out at saturation. One publisher, one room of N subscribers, a closed loop that
// keeps WINDOW messages in flight. Deliveries per second, and per second of server CPU.
import { FanoutDriver } from '../lib/fanout-driver.mjs'
import { Generator, openPublisher, Server } from '../lib/harness.mjs'
import { machineBusySeconds } from '../lib/proc.mjs'

/** Messages in flight: enough that the server always has a message queued behind the one it sends. */
export const WINDOW = 8

/** CPU seconds of the runner process itself (it holds the publisher). */
export function selfCpu() {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1e6
}

/**
 * The fan-out measurement shared with the cluster and Pusher cases: servers already started,
 * subscribers placed. `publisherOptions` choose how a Pusher server is published to.
 */
export async function saturate({ generator, servers, publisherServer, room, activeWorkers, ctx, extraCpu = () => 0, publisherOptions }) {
  const publisher = await openPublisher(publisherServer.kind, publisherServer.port, publisherOptions)
  const driver = FanoutDriver.single(generator, publisher, room, activeWorkers)
  const snapshot = async () => ({
    deliveries: await generator.deliveries(),
    t: performance.now(),
    server: servers.reduce((sum, server) => sum + server.cpu(), 0) + extraCpu(),
    writes: servers.reduce((sum, server) => sum + server.writes(), 0),
    generator: generator.cpu() + selfCpu(),
    machine: machineBusySeconds(),
  })
  try {
    const { before, after } = await driver.saturate({ window: WINDOW, warmupMs: ctx.quick ? 500 : 1500, measureMs: ctx.quick ? 2000 : 5000, snapshot })
    const seconds = (after.t - before.t) / 1000
    const deliveries = after.deliveries - before.deliveries
    const serverCpu = after.server - before.server
    return {
      deliveriesPerSec: deliveries / seconds,
      deliveriesPerCpuSec: deliveries / serverCpu,
      serverCpuUtil: serverCpu / seconds,
      // Sends coalesced per socket show as fewer write(2)/writev(2) calls than deliveries.
      writesPerDelivery: (after.writes - before.writes) / deliveries,
      generatorCpuUtil: (after.generator - before.generator) / seconds / ctx.generatorCores,
      // Cores' worth of CPU taken by everything else on the machine meanwhile (a shared machine).
      outsideLoad: Math.max(0, after.machine - before.machine - serverCpu - (after.generator - before.generator)) / seconds,
    }
  } finally {
    driver.close()
    publisher.close()
  }
}

export default {
  name: 'fanout',
  title: 'Fan-out at saturation',
  method: (ctx) =>
    `one publisher, one room of N subscribers; a closed loop keeps ${WINDOW} messages (about 100 bytes of JSON each) in flight and sends the next as soon as one has reached every subscriber. Counted over ${ctx.quick ? 2 : 5} s after a warm-up; server CPU is utime+stime from /proc/<pid>/stat over the same window. Generator CPU near 100% means the generator, not the server, set the pace: deliveries per server CPU-second is then the figure to compare.`,
  variants: (ctx) => (ctx.sizes ?? (ctx.quick ? [200] : [1000, 5000])).map((n) => ({ key: `n${n}`, label: `N = ${n.toLocaleString('en-US')}`, n })),
  metrics: [
    { key: 'deliveriesPerSec', label: 'deliveries/s', better: 'higher', format: 'int' },
    { key: 'deliveriesPerCpuSec', label: 'deliveries per server CPU-s', better: 'higher', format: 'int' },
    { key: 'serverCpuUtil', label: 'server CPU', better: 'info', format: 'percent' },
    { key: 'generatorCpuUtil', label: 'generator CPU', better: 'info', format: 'percent' },
    { key: 'outsideLoad', label: 'other load (cores)', better: 'info', format: 'cores' },
  ],
  async measure(kind, variant, ctx) {
    const server = await Server.start(kind, { cores: ctx.plan.server, profile: ctx.profile })
    const generator = await Generator.start(ctx.workers, ctx.plan.generator)
    try {
      const connected = await generator.connect(kind, server.port, variant.n, 'fanout', { concurrency: 50 })
      if (connected.failed > 0) throw new Error(`${connected.failed} of ${variant.n} subscribers failed: ${connected.firstError}`)
      const activeWorkers = connected.shares.filter((share) => share > 0).length
      const result = await saturate({ generator, servers: [server], publisherServer: server, room: 'fanout', activeWorkers, ctx })
      result.messagesPerSec = result.deliveriesPerSec / variant.n
      return result
    } finally {
      await generator.stop()
      await server.stop()
    }
  },
}
