// The cost of one Pusher HTTP publish against the floor of an HTTP request on this stack: the
// same signed `POST /apps/:id/events` requests (bench/lib/pusher-http.mjs) at a fixed rate to
// roomcast's Pusher endpoint (to a channel nobody is subscribed to, so no socket writes) and to a
// bare Fastify route that only parses the JSON body and answers `{}` (servers/http-floor.mjs),
// the publisher taking turns between them in quarter-second slices. Requests per server CPU-s
// and their ratio; with --profile, each server's CPU profile broken down by part
// (bench/cpu-breakdown.mjs; the profile covers the whole process, start-up included).
//
//   node bench/http-floor.mjs [--rate 1000] [--seconds 10] [--runs 3] [--profile] [--no-build]
import { execFileSync } from 'node:child_process'
import { readdirSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { breakdown, formatBreakdown } from './cpu-breakdown.mjs'
import { PROFILE_DIR, Server, sleep } from './lib/harness.mjs'
import { corePlan, pinSelf } from './lib/proc.mjs'
import { openHttpPublisher } from './lib/pusher-http.mjs'

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
    profile: { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
  },
})
const root = fileURLToPath(new URL('..', import.meta.url))
if (!args['no-build']) execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.json`], { stdio: 'inherit' })

const KINDS = ['pusher', 'http-floor']
const SLICE_MS = 250
const TICK_MS = 10
const rate = Number(args.rate)
const plan = corePlan()
pinSelf(plan.generator)

/** Publishes at `rate` for `ms`, taking turns between the servers; returns requests sent to each. */
async function drive(publishers, ms) {
  const sent = publishers.map(() => 0)
  const perTick = (rate * TICK_MS) / 1000
  const started = performance.now()
  let due = 0
  while (performance.now() - started < ms) {
    const elapsed = performance.now() - started
    const turn = Math.floor(elapsed / SLICE_MS) % publishers.length
    due += perTick
    for (; due >= 1; due--) {
      publishers[turn].send('floor', { seq: sent[turn], t: Date.now(), text: 'The quick brown fox jumps over the lazy dog while roomcast counts' })
      sent[turn]++
    }
    await sleep(TICK_MS)
  }
  return sent
}

async function run() {
  const servers = []
  const publishers = []
  try {
    for (const kind of KINDS) servers.push(await Server.start(kind, { cores: plan.server, profile: args.profile ? 'run' : undefined }))
    for (const server of servers) publishers.push(openHttpPublisher(server.port))
    await drive(publishers, 1000)
    const cpu = servers.map((server) => server.cpu())
    const sent = await drive(publishers, Number(args.seconds) * 1000)
    // The last slice's answers arrive before the CPU is read.
    await sleep(100)
    const perCpuSec = servers.map((server, i) => sent[i] / (server.cpu() - cpu[i]))
    return Object.fromEntries(KINDS.map((kind, i) => [kind, perCpuSec[i]]))
  } finally {
    for (const publisher of publishers) publisher.close()
    for (const server of servers) await server.stop()
  }
}

if (args.profile) rmSync(PROFILE_DIR, { recursive: true, force: true })
const results = []
for (let i = 0; i < Number(args.runs); i++) {
  const result = await run()
  results.push(result)
  console.log(
    `run ${i + 1}: Pusher HTTP publish ${Math.round(result.pusher)} requests per server CPU-s, bare Fastify POST ${Math.round(result['http-floor'])}: ${(result.pusher / result['http-floor']).toFixed(2)}× the floor`,
  )
}
const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]
const ratio = median(results.map((result) => result.pusher / result['http-floor']))
console.log(
  `median: ${ratio.toFixed(2)}× the floor (${Math.round(median(results.map((r) => r.pusher)))} vs ${Math.round(median(results.map((r) => r['http-floor'])))} per CPU-s)`,
)
if (args.profile) {
  for (const file of readdirSync(PROFILE_DIR).filter((name) => name.endsWith('.cpuprofile'))) {
    console.log(`\n${file}\n${formatBreakdown(breakdown(`${PROFILE_DIR}/${file}`), 15)}`)
  }
}
