// Case 6: the fan-out of case 1 through the Pusher protocol, side by side with the native
// endpoint in the same run. Subscribers are raw `ws` sockets speaking Pusher (as pusher-js does);
// events are published through the signed HTTP API (as the `pusher` SDK does) with the same
// closed loop as the native publisher, to a public channel, to a presence channel, or sent as a
// client event by one subscriber of a private channel to the others.
import { saturate } from './fanout.mjs'
import { Generator, Server } from '../lib/harness.mjs'

/** The native endpoint (kind `roomcast`) and the Pusher one (kind `pusher`) of the same package. */
const KINDS = ['roomcast', 'pusher']

export default {
  name: 'pusher-fanout',
  title: 'Pusher fan-out at saturation',
  servers: KINDS,
  method: (ctx) =>
    `the fan-out at saturation of the \`fanout\` case (a closed loop of in-flight messages, ${ctx.quick ? 2 : 5} s counted after a warm-up) on the native endpoint and on the Pusher endpoint of the same build, one after the other in each run (fresh processes, order rotating). Pusher subscribers are raw \`ws\` sockets speaking the Pusher protocol (signed subscriptions for private and presence channels); the publisher signs \`POST /apps/:id/events\` requests as the \`pusher\` SDK does (data as a JSON string, kept-alive HTTP connections), or, in the client-event variant, is one more subscriber of the private channel sending \`client-msg\`, which every other subscriber receives. "vs native" is the Pusher figure over the native one of the same run; "writes per delivery" counts the server's write(2)/writev(2) calls (\`syscw\` of /proc/<pid>/io).`,
  variants: (ctx) => {
    const sizes = ctx.sizes ?? (ctx.quick ? [200] : [1000, 5000])
    const n = sizes[0]
    const label = (count) => `N = ${count.toLocaleString('en-US')}`
    return [
      ...sizes.map((count) => ({ key: `n${count}`, label: `${label(count)}, public channel, HTTP API`, n: count, channel: 'fanout', via: 'http' })),
      { key: `presence-n${n}`, label: `${label(n)}, presence channel, HTTP API`, n, channel: 'presence-fanout', via: 'http' },
      { key: `client-n${n}`, label: `${label(n)}, client events on a private channel`, n, channel: 'private-fanout', via: 'client-event' },
    ]
  },
  metrics: [
    { key: 'deliveriesPerSec', label: 'deliveries/s', better: 'higher', format: 'int' },
    { key: 'deliveriesPerCpuSec', label: 'deliveries per server CPU-s', better: 'higher', format: 'int' },
    { key: 'vsNative', label: 'vs native (same run)', better: 'higher', format: 'ratio' },
    { key: 'writesPerDelivery', label: 'writes per delivery', better: 'lower', format: 'fraction' },
    { key: 'serverCpuUtil', label: 'server CPU', better: 'info', format: 'percent' },
    { key: 'generatorCpuUtil', label: 'generator CPU', better: 'info', format: 'percent' },
  ],
  /** Both endpoints in one run, one after the other, so that the ratio compares like with like. */
  async measureAll(kinds, variant, ctx) {
    const samples = {}
    for (const kind of kinds) samples[kind] = await measureOne(kind, variant, ctx)
    if (samples.roomcast !== undefined) {
      for (const sample of Object.values(samples)) sample.vsNative = sample.deliveriesPerCpuSec / samples.roomcast.deliveriesPerCpuSec
    }
    return samples
  },
}

async function measureOne(kind, variant, ctx) {
  const server = await Server.start(kind, { cores: ctx.plan.server, profile: ctx.profile })
  let generator
  try {
    generator = await Generator.start(ctx.workers, ctx.plan.generator)
    // The native comparison always uses a plain room: its publisher is a client either way.
    const room = kind === 'pusher' ? variant.channel : 'fanout'
    const connected = await generator.connect(kind, server.port, variant.n, room, { concurrency: 50 })
    if (connected.failed > 0) throw new Error(`${kind}: ${connected.failed} of ${variant.n} subscribers failed: ${connected.firstError}`)
    const activeWorkers = connected.shares.filter((share) => share > 0).length
    return await saturate({ generator, servers: [server], publisherServer: server, room, activeWorkers, ctx, publisherOptions: { via: variant.via, room } })
  } finally {
    await generator?.stop()
    await server.stop()
  }
}
