// The bench runner: roomcast, a minimal ws server and Socket.IO, side by side.
//
//   node bench/run.mjs [--case fanout,fanout-history,metrics,recovery,latency,memory,storm,cluster,pusher-fanout,pusher-publish]
//                      [--runs 3] [--servers roomcast,pusher,ws,socketio,fastify] [--sizes 1000,5000] [--workers 2]
//                      [--quick] [--profile | --profile-window | --profile-allocations | --instructions] [--no-write | --write] [--no-build]
//
// --quick: small N, short windows, one run, and nothing written unless --write is given.
// --profile: a CPU profile of each server's whole life; --profile-window: of just the window a
// case measures (the storm's rounds, the Pusher fan-out's slices), set-up and teardown left out;
// --profile-allocations: an allocation profile of that window (bench/alloc-breakdown.mjs);
// --instructions: servers run under valgrind's callgrind, which counts the instructions each
// executes in that window (user space), a figure that noise on a shared machine does not move;
// it does depend on which servers share the run (their rounds interleave), so compare within one.
//
// Each measurement starts fresh server and generator processes; the server is pinned to core 0,
// the generator (and this process, which holds the publisher) to the others.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { cpus, release, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import cluster from './cases/cluster.mjs'
import fanout from './cases/fanout.mjs'
import fanoutHistory from './cases/fanout-history.mjs'
import latency from './cases/latency.mjs'
import memory from './cases/memory.mjs'
import metrics from './cases/metrics.mjs'
import pusherFanout from './cases/pusher-fanout.mjs'
import pusherPublish from './cases/pusher-publish.mjs'
import recovery from './cases/recovery.mjs'
import storm from './cases/storm.mjs'
import { corePlan, pinSelf } from './lib/proc.mjs'
import { summarize } from './lib/stats.mjs'
import { RESULTS_JSON, targets, writeReports } from './report.mjs'

const CASES = {
  fanout,
  'fanout-history': fanoutHistory,
  metrics,
  recovery,
  latency,
  memory,
  storm,
  cluster,
  'pusher-fanout': pusherFanout,
  'pusher-publish': pusherPublish,
}
const SERVERS = ['roomcast', 'pusher', 'ws', 'socketio', 'fastify']
/**
 * The servers of a case that names none. The Fastify floor is a reference for the storm case;
 * roomcast's Pusher endpoint (`pusher`) is measured in the memory, storm and Pusher cases.
 */
const STANDARD_SERVERS = ['roomcast', 'ws', 'socketio']

const { values: args } = parseArgs({
  options: {
    case: { type: 'string', default: Object.keys(CASES).join(',') },
    runs: { type: 'string' },
    servers: { type: 'string', default: SERVERS.join(',') },
    sizes: { type: 'string' },
    workers: { type: 'string', default: '2' },
    quick: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'profile-window': { type: 'boolean', default: false },
    'profile-allocations': { type: 'boolean', default: false },
    instructions: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    write: { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
  },
})

const root = fileURLToPath(new URL('..', import.meta.url))
if (!args['no-build']) {
  // The roomcast server runs the built package, so build it first. tsc still emits when it
  // reports type errors; the bench then measures what was emitted, and says so.
  try {
    execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.json`], { stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (err) {
    console.warn(`warning: tsc reported errors; benchmarking the JavaScript it emitted:\n${String(err.stdout ?? '').trim()}`)
  }
}
if (!existsSync(`${root}dist/plugin/index.js`)) {
  console.error('dist/ is missing: run `npm run build` first (`npm run bench` does).')
  process.exit(1)
}

const selected = args.case
  .split(',')
  .map((name) => name.trim())
  .filter(Boolean)
for (const name of selected) if (!(name in CASES)) throw new Error(`unknown case "${name}" (known: ${Object.keys(CASES).join(', ')})`)
const servers = args.servers.split(',').map((name) => name.trim())
for (const name of servers) if (!SERVERS.includes(name)) throw new Error(`unknown server "${name}"`)

const plan = corePlan()
// Read before pinning: nproc counts only the cores this process may run on.
const machineInfo = machine()
pinSelf(plan.generator)
const ctx = {
  quick: args.quick,
  profile: args.instructions
    ? 'instructions'
    : args['profile-allocations']
      ? 'allocations'
      : args['profile-window']
        ? 'window'
        : args.profile
          ? 'run'
          : undefined,
  runs: Number(args.runs ?? (args.quick ? 1 : 3)),
  workers: Number(args.workers),
  sizes: args.sizes?.split(',').map(Number),
  plan,
  generatorCores: plan.generator === undefined ? 1 : plan.cores - 1,
}
const write = args.write || (!args.quick && !args['no-write'])

function shell(command) {
  try {
    return execFileSync('sh', ['-c', command], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return ''
  }
}

const openFiles = Number(shell('ulimit -Hn'))
const needed = 6000
if (Number.isFinite(openFiles) && openFiles < needed) {
  console.warn(`warning: the hard open-file limit is ${openFiles}; the memory and storm cases need about ${needed} per process`)
}

const require = createRequire(import.meta.url)
const versionOf = (name) => require(`${name}/package.json`).version

function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8')
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown CPU'
  return {
    cpu: model.trim(),
    cores: cpus().length,
    nproc: Number(shell('nproc')) || cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `Linux ${release()}`,
  }
}

function versions() {
  const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8'))
  const commit = shell('git rev-parse --short HEAD')
  const changed = shell('git status --porcelain -- plugin shared') !== ''
  return {
    node: process.versions.node,
    roomcast: commit === '' ? pkg.version : `${pkg.version} (${commit}${changed ? ' with uncommitted changes' : ''})`,
    ws: versionOf('ws'),
    socketio: versionOf('socket.io'),
    fastify: versionOf('fastify'),
  }
}

/** The servers in a different order each run, so no server always goes first. */
function rotate(list, run) {
  return list.map((_, i) => list[(i + run) % list.length])
}

function describe(sample) {
  return Object.entries(sample)
    .map(([key, value]) => `${key}=${Number.isInteger(value) || Math.abs(value) >= 100 ? Math.round(value) : value.toFixed(3)}`)
    .join(' ')
}

async function runCase(entry) {
  const result = { title: entry.title, date: new Date().toISOString().slice(0, 10), method: entry.method(ctx), metrics: entry.metrics, variants: [] }
  if (entry.available !== undefined) {
    const availability = await entry.available()
    if (!availability.ok) {
      console.log(`${entry.name}: skipped, ${availability.reason}`)
      return { title: entry.title, date: result.date, skipped: availability.reason }
    }
  }
  const caseServers = (entry.servers ?? STANDARD_SERVERS).filter((name) => servers.includes(name))
  for (const variant of entry.variants(ctx)) {
    const samples = Object.fromEntries(caseServers.map((name) => [name, []]))
    const errors = []
    for (let run = 0; run < ctx.runs; run++) {
      if (entry.measureAll !== undefined) {
        // The servers are measured together, interleaved (see the case).
        const started = Date.now()
        try {
          const byServer = await entry.measureAll(rotate(caseServers, run), variant, ctx)
          for (const [kind, sample] of Object.entries(byServer)) {
            samples[kind].push(sample)
            console.log(
              `${entry.name} ${variant.key} ${kind} run ${run + 1}/${ctx.runs} (${((Date.now() - started) / 1000).toFixed(1)} s, all servers): ${describe(sample)}`,
            )
          }
        } catch (err) {
          errors.push(`run ${run + 1}: ${err.message}`)
          console.error(`${entry.name} ${variant.key} run ${run + 1} failed: ${err.stack ?? err}`)
        }
        continue
      }
      for (const kind of rotate(caseServers, run)) {
        const started = Date.now()
        try {
          const sample = await entry.measure(kind, variant, ctx)
          samples[kind].push(sample)
          console.log(`${entry.name} ${variant.key} ${kind} run ${run + 1}/${ctx.runs} (${((Date.now() - started) / 1000).toFixed(1)} s): ${describe(sample)}`)
        } catch (err) {
          errors.push(`${kind} run ${run + 1}: ${err.message}`)
          console.error(`${entry.name} ${variant.key} ${kind} run ${run + 1} failed: ${err.stack ?? err}`)
        }
      }
    }
    const summary = { key: variant.key, label: variant.label, servers: {}, notes: [] }
    for (const kind of caseServers) {
      if (samples[kind].length === 0) continue
      const keys = Object.keys(samples[kind][0])
      summary.servers[kind] = Object.fromEntries(keys.map((key) => [key, summarize(samples[kind].map((sample) => sample[key]))]))
    }
    for (const error of errors) summary.notes.push(`failed: ${error}`)
    result.variants.push(summary)
  }
  return result
}

const previous = write && existsSync(RESULTS_JSON) ? JSON.parse(readFileSync(RESULTS_JSON, 'utf8')) : undefined
const results = {
  date: new Date().toISOString().slice(0, 10),
  machine: machineInfo,
  versions: versions(),
  method: {
    runs: ctx.runs,
    workers: ctx.workers,
    pinning:
      plan.server === undefined
        ? 'No CPU pinning (fewer than 2 cores or no taskset): server and generator share the cores.'
        : `Server pinned to core ${plan.server}, load generator and publisher to core ${plan.generator}, with taskset.`,
  },
  cases: {},
}
console.log(`roomcast bench: ${selected.join(', ')}; ${ctx.runs} run(s); servers ${servers.join(', ')}; ${results.method.pinning}`)
for (const name of Object.keys(CASES)) {
  if (selected.includes(name)) results.cases[name] = await runCase(CASES[name])
  else if (previous?.cases?.[name] !== undefined) results.cases[name] = previous.cases[name]
}

for (const row of targets(results)) {
  console.log(
    `${row.met === undefined ? 'info   ' : row.met ? 'met    ' : 'MISSED '} ${row.name}: roomcast ${row.roomcast} vs ${row.other} = ${row.ratio.toFixed(2)}× (goal ${row.goal})`,
  )
}
if (write) {
  writeFileSync(RESULTS_JSON, `${JSON.stringify(results, null, 2)}\n`)
  const readme = writeReports(results)
  console.log(`wrote bench/results.json, bench/RESULTS.md${readme ? ' and the README section' : ''}`)
}
