// Case 1c: the cost of the `metrics` option. Two roomcast servers side by side in one run, one
// with `metrics: true` (scraped once a second, as a busy Prometheus would) and one without,
// each with a room of N subscribers; the fan-out at saturation of the `fanout` case runs on
// them in turn (off, on, on, off, ...), so a shared machine's noise lands on both. The figure
// is deliveries per server CPU-second with metrics on, as a share of the figure with them off.
import { withFanoutRig } from '../lib/fanout-rig.mjs'
import { WINDOW } from './fanout.mjs'

/** One scrape a second: Prometheus's usual interval is 15 to 60 s, so this overstates the cost. */
const SCRAPE_INTERVAL_MS = 1000

/**
 * Short segments, many of them, in the order off, on, on, off, off, on, ...: on a shared machine
 * the load of others comes and goes within seconds, and this spreads it over both servers.
 */
const segmentsPerServer = (ctx) => (ctx.quick ? 2 : 6)
const SEGMENT_MS = (ctx) => (ctx.quick ? 1500 : 2000)
/** Warm-up before a server's first segment (JIT, buffers), and before each later one (the loop refills). */
const FIRST_WARMUP_MS = 1500
const WARMUP_MS = 300

async function scrapeLoop(port, stop) {
  let scrapes = 0
  while (!stop.done) {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`)
    if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`)
    await response.text()
    scrapes++
    await new Promise((resolve) => setTimeout(resolve, SCRAPE_INTERVAL_MS))
  }
  return scrapes
}

/** Server CPU of one scrape with the N subscribers connected and no traffic: the mean of SCRAPES in a row. */
const SCRAPES = 200
async function scrapeCost(server) {
  const before = server.cpu()
  for (let i = 0; i < SCRAPES; i++) await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text()
  return ((server.cpu() - before) * 1000) / SCRAPES
}

export default {
  name: 'metrics',
  title: 'Fan-out with metrics on and off',
  servers: ['roomcast'],
  /** The case needs a build with the `metrics` option (and prom-client installed). */
  async available() {
    try {
      await import('prom-client')
    } catch {
      return { ok: false, reason: 'prom-client is not installed, so the metrics case was not run' }
    }
    return { ok: true }
  },
  method: (ctx) =>
    `two roomcast servers in one run, one with \`metrics: true\` and GET /metrics scraped every ${SCRAPE_INTERVAL_MS / 1000} s, one without; each has a room of N subscribers, and the closed-loop fan-out of the \`fanout\` case (${WINDOW} messages in flight) runs on them in turn, ${segmentsPerServer(ctx)} segments of ${SEGMENT_MS(ctx) / 1000} s each per server (after a warm-up of ${FIRST_WARMUP_MS / 1000} s, then ${WARMUP_MS} ms before each segment), in the order off, on, on, off, off, on, ... "on / off" is deliveries per server CPU-second with metrics on as a share of the same figure with them off (100% = no cost). A control variant runs the same on two servers without metrics ("on" is then a second "off"): its spread is the noise of the machine. Then, with no traffic, ${SCRAPES} scrapes in a row: the server CPU of one (HTTP included; the scrape reads every connection once).`,
  // The control runs the same measurement on two servers without metrics: its spread is the
  // noise floor of the machine, against which the first variant's ratio is read.
  variants: (ctx) =>
    (ctx.sizes ?? (ctx.quick ? [200] : [1000])).flatMap((n) => [
      { key: `n${n}`, label: `N = ${n.toLocaleString('en-US')}, metrics on vs off`, n, control: false },
      { key: `n${n}-control`, label: `N = ${n.toLocaleString('en-US')}, control: off vs off`, n, control: true },
    ]),
  metrics: [
    { key: 'ratio', label: 'on / off (per server CPU-s)', better: 'higher', format: 'percent' },
    { key: 'offPerCpuSec', label: 'off: deliveries per server CPU-s', better: 'higher', format: 'int' },
    { key: 'onPerCpuSec', label: 'on: deliveries per server CPU-s', better: 'higher', format: 'int' },
    { key: 'offPerSec', label: 'off: deliveries/s', better: 'higher', format: 'int' },
    { key: 'onPerSec', label: 'on: deliveries/s', better: 'higher', format: 'int' },
    { key: 'scrapeMs', label: 'server CPU per scrape (ms)', better: 'lower', format: 'ms' },
  ],
  async measure(kind, variant, ctx) {
    const specs = [
      { name: 'off', kind, room: 'fanout', user: 'off' },
      { name: 'on', kind, room: 'fanout', user: 'on', args: variant.control ? [] : ['--metrics', 'on'] },
    ]
    return withFanoutRig(ctx, { specs, n: variant.n }, async ({ byName: servers, generator, driver }) => {
      const totals = { off: { deliveries: 0, cpu: 0, seconds: 0 }, on: { deliveries: 0, cpu: 0, seconds: 0 } }
      const order = []
      for (let i = 0; i < segmentsPerServer(ctx); i++) order.push(...(i % 2 === 0 ? ['off', 'on'] : ['on', 'off']))
      const warmed = new Set()
      for (const name of order) {
        const server = servers[name]
        const warmupMs = warmed.has(name) ? WARMUP_MS : FIRST_WARMUP_MS
        warmed.add(name)
        const stop = { done: name !== 'on' || variant.control }
        const scraping = scrapeLoop(servers.on.port, stop)
        const snapshot = async () => ({ deliveries: await generator.deliveries(), t: performance.now(), cpu: server.cpu() })
        try {
          const { before, after } = await driver.saturate({ window: WINDOW, warmupMs, measureMs: SEGMENT_MS(ctx), snapshot, group: name })
          totals[name].deliveries += after.deliveries - before.deliveries
          totals[name].cpu += after.cpu - before.cpu
          totals[name].seconds += (after.t - before.t) / 1000
        } finally {
          stop.done = true
          await scraping
        }
      }
      const offPerCpuSec = totals.off.deliveries / totals.off.cpu
      const onPerCpuSec = totals.on.deliveries / totals.on.cpu
      const result = {
        ratio: onPerCpuSec / offPerCpuSec,
        offPerCpuSec,
        onPerCpuSec,
        offPerSec: totals.off.deliveries / totals.off.seconds,
        onPerSec: totals.on.deliveries / totals.on.seconds,
      }
      if (!variant.control) result.scrapeMs = await scrapeCost(servers.on)
      return result
    })
  },
}
