// Case 6: the fan-out of case 1 through the Pusher protocol, side by side with the native
// endpoint of the same build. Subscribers are raw `ws` sockets speaking Pusher (as pusher-js
// does); events are published through the signed HTTP API (as the `pusher` SDK does) to a public
// channel or a presence channel, or sent as a client event by one subscriber of a private
// channel to the others.
//
// Both servers run at once, each with its own N subscribers, and the closed loop takes turns
// between them in short slices: on a shared machine, outside load then falls on both alike, and
// the ratio between them holds even when the absolute figures move.
import { WINDOW, selfCpu } from './fanout.mjs'
import { withFanoutRig } from '../lib/fanout-rig.mjs'
import { profileWindows } from '../lib/harness.mjs'
import { machineBusySeconds } from '../lib/proc.mjs'

/** The native endpoint (kind `roomcast`) and the Pusher one (kind `pusher`) of the same package. */
const KINDS = ['roomcast', 'pusher']

const timing = (ctx) => ({ warmupMs: ctx.quick ? 500 : 1500, measureMs: ctx.quick ? 2000 : 5000, sliceMs: ctx.quick ? 250 : 500 })

export default {
  name: 'pusher-fanout',
  title: 'Pusher fan-out at saturation',
  servers: KINDS,
  method: (ctx) => {
    const { measureMs, sliceMs } = timing(ctx)
    return `the fan-out at saturation of the \`fanout\` case (a closed loop keeping ${WINDOW} messages in flight) on the native endpoint and on the Pusher endpoint of the same build. Both servers run at once (pinned to the server core), each with its own N subscribers, and the loop takes turns between them in ${sliceMs} ms slices, each slice ending once its messages have arrived, ${measureMs / 1000} s per server after a warm-up; server CPU is counted over each server's own slices. Pusher subscribers are raw \`ws\` sockets speaking the Pusher protocol (signed subscriptions for private and presence channels); the publisher signs \`POST /apps/:id/events\` requests as the \`pusher\` SDK does (data as a JSON string, kept-alive HTTP connections), or, in the client-event variant, is one more subscriber of the private channel sending \`client-msg\`, which every other subscriber receives. The native side is the \`fanout\` case's room and \`publish\` event throughout. "vs native" is the Pusher figure over the native one of the same run; "writes per delivery" counts the server's write(2)/writev(2) calls (\`syscw\` of /proc/<pid>/io).`
  },
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
    { key: 'outsideLoad', label: 'other load (cores)', better: 'info', format: 'cores' },
  ],
  /** One run for both endpoints at once, interleaved; returns server → sample. */
  async measureAll(kinds, variant, ctx) {
    const specs = kinds.map((kind) => ({ name: kind, kind, room: roomOf(kind, variant), via: variant.via }))
    return withFanoutRig(ctx, { specs, n: variant.n }, async ({ servers, generator, driver }) => {
      const { warmupMs, measureMs, sliceMs } = timing(ctx)
      for (const server of servers) await driver.burst({ group: server.kind, window: WINDOW, ms: warmupMs })
      const totals = new Map(servers.map((server) => [server, { messages: 0, seconds: 0, cpu: 0, writes: 0, generator: 0, machine: 0 }]))
      await profileWindows(servers, variant.key, async () => {
        for (let elapsed = 0; elapsed < measureMs; elapsed += sliceMs) {
          for (const server of servers) {
            const before = snapshot(server, generator)
            const messages = await driver.burst({ group: server.kind, window: WINDOW, ms: sliceMs })
            const after = snapshot(server, generator)
            const total = totals.get(server)
            total.messages += messages
            for (const key of ['seconds', 'cpu', 'writes', 'generator', 'machine']) total[key] += after[key] - before[key]
          }
        }
      })
      const samples = {}
      for (const [server, total] of totals) {
        const deliveries = total.messages * variant.n
        samples[server.kind] = {
          deliveriesPerSec: deliveries / total.seconds,
          deliveriesPerCpuSec: deliveries / total.cpu,
          writesPerDelivery: total.writes / deliveries,
          serverCpuUtil: total.cpu / total.seconds,
          generatorCpuUtil: total.generator / total.seconds / ctx.generatorCores,
          // Cores' worth of CPU everything else took meanwhile (the idle server's timers included, a trifle).
          outsideLoad: Math.max(0, total.machine - total.cpu - total.generator) / total.seconds,
        }
      }
      if (samples.roomcast !== undefined) {
        for (const sample of Object.values(samples)) sample.vsNative = sample.deliveriesPerCpuSec / samples.roomcast.deliveriesPerCpuSec
      }
      return samples
    })
  },
}

/** The Pusher side uses the variant's channel; the native comparison always a plain room (its publisher is a client either way). */
function roomOf(kind, variant) {
  return kind === 'pusher' ? variant.channel : 'fanout'
}

function snapshot(server, generator) {
  return {
    seconds: performance.now() / 1000,
    cpu: server.cpu(),
    writes: server.writes(),
    generator: generator.cpu() + selfCpu(),
    machine: machineBusySeconds(),
  }
}
