// Case 7: what one publish costs the server. A fixed rate of publishes to a small channel,
// through the Pusher HTTP API (signature, body, validation, one fan-out) and through the native
// endpoint's `publish` event, each measured in the same run: publishes per server CPU-second.
import { FanoutDriver } from '../lib/fanout-driver.mjs'
import { Generator, openPublisher, Server } from '../lib/harness.mjs'

const KINDS = ['roomcast', 'pusher']
/** Publishes per second, and subscribers of the channel. */
const RATE = 1000
const SUBSCRIBERS = 10

const timing = (ctx) => ({ warmupMs: ctx.quick ? 500 : 1000, measureMs: ctx.quick ? 2000 : 5000 })

export default {
  name: 'pusher-publish',
  title: `Publishing at ${RATE.toLocaleString('en-US')}/s to ${SUBSCRIBERS} subscribers`,
  servers: KINDS,
  method: (ctx) =>
    `${RATE.toLocaleString('en-US')} publishes per second for ${timing(ctx).measureMs / 1000} s (after ${timing(ctx).warmupMs / 1000} s of warm-up) to a channel of ${SUBSCRIBERS} subscribers: signed \`POST /apps/:id/events\` requests on kept-alive connections to the Pusher endpoint (signature and body_md5 check, JSON body, schema and limit checks, fan-out), and the native \`publish\` event over one WebSocket (JSON, schema check, handler, fan-out), one after the other in each run. Publishes per server CPU-second counts only publishes that reached every subscriber.`,
  variants: () => [{ key: `rate${RATE}`, label: `${SUBSCRIBERS} subscribers`, n: SUBSCRIBERS }],
  metrics: [
    { key: 'publishesPerSec', label: 'publishes/s', better: 'info', format: 'int' },
    { key: 'publishesPerCpuSec', label: 'publishes per server CPU-s', better: 'higher', format: 'int' },
    { key: 'vsNative', label: 'vs native (same run)', better: 'higher', format: 'ratio' },
    { key: 'serverCpuUtil', label: 'server CPU', better: 'info', format: 'percent' },
  ],
  async measureAll(kinds, variant, ctx) {
    const samples = {}
    for (const kind of kinds) samples[kind] = await measureOne(kind, variant, ctx)
    if (samples.roomcast !== undefined) {
      for (const sample of Object.values(samples)) sample.vsNative = sample.publishesPerCpuSec / samples.roomcast.publishesPerCpuSec
    }
    return samples
  },
}

async function measureOne(kind, variant, ctx) {
  const server = await Server.start(kind, { cores: ctx.plan.server, profile: ctx.profile })
  let generator
  let publisher
  let driver
  try {
    generator = await Generator.start(ctx.workers, ctx.plan.generator)
    const room = 'publish'
    const connected = await generator.connect(kind, server.port, variant.n, room, { concurrency: 10 })
    if (connected.failed > 0) throw new Error(`${kind}: ${connected.failed} of ${variant.n} subscribers failed: ${connected.firstError}`)
    publisher = await openPublisher(kind, server.port)
    driver = FanoutDriver.single(generator, publisher, room, connected.shares.filter((share) => share > 0).length)
    const { warmupMs, measureMs } = timing(ctx)
    await driver.fixedRate({ rate: RATE, warmupMs: 0, measureMs: warmupMs })
    const started = { t: performance.now(), cpu: server.cpu() }
    const completed = await driver.fixedRate({ rate: RATE, warmupMs: 0, measureMs })
    const seconds = (performance.now() - started.t) / 1000
    const cpu = server.cpu() - started.cpu
    return { publishesPerSec: completed.length / seconds, publishesPerCpuSec: completed.length / cpu, serverCpuUtil: cpu / seconds }
  } finally {
    driver?.close()
    publisher?.close()
    await generator?.stop()
    await server.stop()
  }
}
