// Case 7: what one publish costs the server. A fixed rate of publishes to a small channel,
// through the Pusher HTTP API (signature, body, validation, one fan-out) and through the native
// endpoint's `publish` event, both in the same run: publishes per server CPU-second.
import { withFanoutRig } from '../lib/fanout-rig.mjs'

const KINDS = ['roomcast', 'pusher']
/** Publishes per second, and subscribers of the channel. */
const RATE = 1000
const SUBSCRIBERS = 10
const ROOM = 'publish'

const timing = (ctx) => ({ warmupMs: ctx.quick ? 500 : 1000, measureMs: ctx.quick ? 2000 : 5000 })

export default {
  name: 'pusher-publish',
  title: `Publishing at ${RATE.toLocaleString('en-US')}/s to ${SUBSCRIBERS} subscribers`,
  servers: KINDS,
  method: (ctx) =>
    `${RATE.toLocaleString('en-US')} publishes per second for ${timing(ctx).measureMs / 1000} s (after ${timing(ctx).warmupMs / 1000} s of warm-up) to a channel of ${SUBSCRIBERS} subscribers: signed \`POST /apps/:id/events\` requests on kept-alive connections to the Pusher endpoint (signature and body_md5 check, JSON body, schema and limit checks, fan-out), and the native \`publish\` event over one WebSocket (JSON, schema check, handler, fan-out), both servers at once, the publisher taking turns between them in quarter-second slices (so each gets the rate during its slices). Publishes per server CPU-second counts only publishes that reached every subscriber.`,
  variants: () => [{ key: `rate${RATE}`, label: 'HTTP API against the native `publish` event', n: SUBSCRIBERS }],
  metrics: [
    { key: 'publishesPerSec', label: 'publishes/s', better: 'info', format: 'int' },
    { key: 'publishesPerCpuSec', label: 'publishes per server CPU-s', better: 'higher', format: 'int' },
    { key: 'vsNative', label: 'vs native (same run)', better: 'higher', format: 'ratio' },
    { key: 'serverCpuUtil', label: 'server CPU', better: 'info', format: 'percent' },
  ],
  /** Both endpoints at once: the publisher takes turns between them in quarter-second slices, so outside load falls on both alike. */
  async measureAll(kinds, variant, ctx) {
    const specs = kinds.map((kind) => ({ name: kind, kind, room: ROOM }))
    return withFanoutRig(ctx, { specs, n: variant.n, concurrency: 10 }, async ({ servers, driver }) => {
      const { warmupMs, measureMs } = timing(ctx)
      await driver.fixedRate({ rate: RATE, warmupMs: 0, measureMs: warmupMs })
      const started = { t: performance.now(), cpu: servers.map((server) => server.cpu()) }
      const completed = await driver.fixedRate({ rate: RATE, warmupMs: 0, measureMs })
      // Each server's own slices: it idles while the other one is published to.
      const seconds = (performance.now() - started.t) / 1000 / servers.length
      const samples = {}
      for (const [i, server] of servers.entries()) {
        const published = completed.filter((entry) => entry.group === server.kind).length
        const cpu = server.cpu() - started.cpu[i]
        samples[server.kind] = { publishesPerSec: published / seconds, publishesPerCpuSec: published / cpu, serverCpuUtil: cpu / seconds }
      }
      if (samples.roomcast !== undefined) {
        for (const sample of Object.values(samples)) sample.vsNative = sample.publishesPerCpuSec / samples.roomcast.publishesPerCpuSec
      }
      return samples
    })
  },
}
