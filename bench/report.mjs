// Turns bench/results.json into bench/RESULTS.md and the README's benchmark section.
//
//   node bench/report.mjs        regenerate both from the last results.json
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const BENCH = fileURLToPath(new URL('.', import.meta.url))
export const RESULTS_JSON = `${BENCH}results.json`
const RESULTS_MD = `${BENCH}RESULTS.md`
const README = fileURLToPath(new URL('../README.md', import.meta.url))
const START = '<!-- bench:start -->'
const END = '<!-- bench:end -->'

const SERVER_NAMES = { roomcast: 'roomcast', pusher: 'roomcast (Pusher)', ws: 'raw ws', socketio: 'Socket.IO', fastify: 'Fastify floor' }

/** A server is "generator-bound" when the load generator used this much of its cores. */
export const GENERATOR_BOUND = 0.9
/** Outside CPU use (in cores) from which a result gets a note. */
const OUTSIDE_LOAD_NOTE = 0.5

const listOf = (entries) => entries.map(([server, value]) => `${SERVER_NAMES[server] ?? server} ${value}`).join(', ')

/** Notes derived from a variant's figures: who set the pace, and how busy the machine was. */
function derivedNotes(variant) {
  const notes = []
  const servers = Object.entries(variant.servers)
  const bound = servers.filter(([, m]) => (m.generatorCpuUtil?.median ?? 0) >= GENERATOR_BOUND)
  if (bound.length > 0) {
    notes.push(
      `The load generator was the bottleneck for ${listOf(bound.map(([server, m]) => [server, `(generator CPU ${format(m.generatorCpuUtil.median, 'percent')})`]))}: compare the per-CPU-second figures.`,
    )
  }
  const busy = servers.filter(([, m]) => (m.outsideLoad?.median ?? 0) >= OUTSIDE_LOAD_NOTE)
  if (busy.length > 0) {
    notes.push(
      `Other processes used CPU meanwhile (${listOf(busy.map(([server, m]) => [server, `${format(m.outsideLoad.median, 'cores')} cores`]))}), so server and generator did not have their cores to themselves: rates are lower than on an idle machine, per-CPU-second figures less so.`,
    )
  }
  return notes
}

function format(value, kind) {
  if (!Number.isFinite(value)) return 'n/a'
  switch (kind) {
    case 'int':
      return Math.round(value).toLocaleString('en-US')
    case 'percent':
      return `${Math.round(value * 100)}%`
    case 'ms':
      return value < 10 ? value.toFixed(2) : value.toFixed(1)
    case 'cores':
      return value.toFixed(2)
    case 'kib':
      return (value / 1024).toFixed(1)
    case 'ratio':
      return `${value.toFixed(2)}×`
    case 'fraction':
      return value.toFixed(2)
    default:
      return String(value)
  }
}

function cell(summary, kind) {
  if (summary === undefined || !Number.isFinite(summary.median)) return 'n/a'
  if (summary.runs.length < 2) return format(summary.median, kind)
  return `${format(summary.median, kind)} (${format(summary.min, kind)}..${format(summary.max, kind)})`
}

/** The issue's targets, as ratios of medians from the same run. */
export function targets(results) {
  const rows = []
  const metric = (caseName, variantKey, server, key) => {
    const variant = results.cases[caseName]?.variants?.find((v) => variantKey === undefined || v.key === variantKey)
    return variant?.servers?.[server]?.[key]?.median
  }
  /** `ours` against `other` (a server, or a fixed figure `{ value, label }`), as a ratio. */
  const add = (name, caseName, variantKey, key, other, goal, direction, kind, ours = 'roomcast') => {
    const value = metric(caseName, variantKey, ours, key)
    const fixed = typeof other === 'object'
    const theirs = fixed ? other.value : metric(caseName, variantKey, other, key)
    if (value === undefined || theirs === undefined) return
    const ratio = value / theirs
    const row = {
      name,
      roomcast: ours === 'roomcast' ? format(value, kind) : `${format(value, kind)} (${SERVER_NAMES[ours]})`,
      // The Pusher rows compare two endpoints of roomcast itself.
      other: fixed ? other.label : `${format(theirs, kind)} (${ours === 'pusher' && other === 'roomcast' ? 'native endpoint' : SERVER_NAMES[other]})`,
      ratio,
    }
    if (goal === undefined) {
      rows.push({ ...row, goal: '(for reference)', met: undefined })
      return
    }
    rows.push({ ...row, goal: `${direction === 'min' ? '≥' : '≤'} ${goal}×`, met: direction === 'min' ? ratio >= goal : ratio <= goal })
  }
  for (const variant of results.cases.fanout?.variants ?? []) {
    add(`fan-out deliveries per server CPU-s, ${variant.label}`, 'fanout', variant.key, 'deliveriesPerCpuSec', 'socketio', 3, 'min', 'int')
    add(`fan-out deliveries per server CPU-s, ${variant.label}`, 'fanout', variant.key, 'deliveriesPerCpuSec', 'ws', 2, 'min', 'int')
  }
  add('last-delivery p99 at 20 msg/s (ms)', 'latency', undefined, 'lastP99', 'ws', 1.1, 'max', 'ms')
  // RSS one second after connecting (the historical reading) and once idle (see cases/memory.mjs).
  for (const [key, when] of [
    ['rssPerConnection', '1 s after'],
    ['idleRssPerConnection', 'idle'],
  ]) {
    add(`RSS per joined connection, ${when} (KiB)`, 'memory', undefined, key, 'ws', 1.2, 'max', 'kib')
    add(`RSS per joined connection, ${when} (KiB)`, 'memory', undefined, key, 'socketio', 0.7, 'max', 'kib')
    // Absolute budgets, as ratios to the budget: 7 KiB native, 8 KiB Pusher.
    add(`RSS per joined connection, ${when} (KiB)`, 'memory', undefined, key, { value: 7 * 1024, label: '7.0 (budget)' }, 1, 'max', 'kib')
    add(`RSS per subscribed connection, ${when} (KiB)`, 'memory', undefined, key, { value: 8 * 1024, label: '8.0 (budget)' }, 1, 'max', 'kib', 'pusher')
  }
  add('connect+auth+join connections/s', 'storm', undefined, 'connectionsPerSec', 'ws', 0.9, 'min', 'int')
  // The Fastify floor is what any Fastify plugin builds on: both endpoints are held to it.
  for (const ours of ['roomcast', 'pusher']) {
    add('connect+auth+join connections/s', 'storm', undefined, 'connectionsPerSec', 'fastify', 0.95, 'min', 'int', ours)
    add('connect+auth+join connections per server CPU-s', 'storm', undefined, 'connectionsPerCpuSec', 'fastify', 0.95, 'min', 'int', ours)
  }
  add('connect+auth+join connections per server CPU-s', 'storm', undefined, 'connectionsPerCpuSec', 'ws', undefined, 'min', 'int')
  // The Pusher endpoint against the native one of the same build (the "roomcast" figure is the Pusher one here).
  for (const variant of results.cases['pusher-fanout']?.variants ?? []) {
    add(
      `Pusher fan-out deliveries per server CPU-s vs native, ${variant.label}`,
      'pusher-fanout',
      variant.key,
      'deliveriesPerCpuSec',
      'roomcast',
      0.9,
      'min',
      'int',
      'pusher',
    )
  }
  add(
    'Pusher HTTP publishes per server CPU-s vs native `publish`',
    'pusher-publish',
    undefined,
    'publishesPerCpuSec',
    'roomcast',
    undefined,
    'min',
    'int',
    'pusher',
  )
  return rows
}

function targetTable(results) {
  const rows = targets(results)
  if (rows.length === 0) return ''
  const lines = ['| target | roomcast | compared with | ratio | goal | met |', '| --- | --- | --- | --- | --- | --- |']
  for (const row of rows)
    lines.push(
      `| ${row.name} | ${row.roomcast} | ${row.other} | ${row.ratio.toFixed(2)}× | ${row.goal} | ${row.met === undefined ? '' : row.met ? 'yes' : '**no**'} |`,
    )
  return lines.join('\n')
}

function caseTables(results, { headingLevel }) {
  const out = []
  const hashes = '#'.repeat(headingLevel)
  for (const entry of Object.values(results.cases)) {
    if (entry.skipped !== undefined) {
      out.push(`${hashes} ${entry.title}\n\nNot run: ${entry.skipped}.`)
      continue
    }
    const measured = entry.date !== results.date ? ` (measured ${entry.date})` : ''
    for (const variant of entry.variants) {
      const metrics = entry.metrics
      const lines = [`${hashes} ${entry.title}, ${variant.label}${measured}`, '']
      lines.push(`| server | ${metrics.map((m) => m.label).join(' | ')} |`)
      lines.push(`| --- | ${metrics.map(() => '---').join(' | ')} |`)
      for (const [server, summaries] of Object.entries(variant.servers)) {
        lines.push(`| ${SERVER_NAMES[server] ?? server} | ${metrics.map((m) => cell(summaries[m.key], m.format)).join(' | ')} |`)
      }
      const notes = [...derivedNotes(variant), ...(variant.notes ?? [])]
      if (notes.length > 0) lines.push('', ...notes.map((note) => `- ${note}`))
      out.push(lines.join('\n'))
    }
  }
  return out.join('\n\n')
}

function methodText(results) {
  const { machine, versions, method } = results
  const lines = [
    `- Date: ${results.date}. Machine: ${machine.cpu}, ${machine.cores} cores (nproc ${machine.nproc}), ${machine.memoryGiB} GiB RAM, ${machine.os}; shared with other work while measuring ("other load" is the CPU everything else used meanwhile, in cores).`,
    `- Versions: Node ${versions.node}, roomcast ${versions.roomcast}, ws ${versions.ws}, socket.io ${versions.socketio}, fastify ${versions.fastify}.`,
    `- ${method.pinning}`,
    `- Every figure is the median of ${method.runs} runs with min..max in brackets. Each run starts fresh server and generator processes; the order of the servers rotates between runs.`,
    "- Servers: roomcast (this package from `dist/`, in-process adapter, in-band `authenticate`, a `publish` event validated by its schema and sent on with `rooms.to(room).except(sender).emit`, rate limit off), a minimal `ws` server (rooms in a Map, `JSON.stringify` once, `ws.send` per member), Socket.IO 4 (in-memory adapter, `transports: ['websocket']`, token in the CONNECT packet checked by a middleware, `join` with an ack, `socket.to(room).emit`). In the Pusher cases, the roomcast server also has the `pusher` option (one app, client events on, its limits off) and is measured on both endpoints. In the storm case only, a fourth server, the *Fastify floor*: the raw `ws` server's job behind Fastify and @fastify/websocket with no roomcast, so that the cost of Fastify's upgrade path (routing, request lifecycle, hooks) is told apart from roomcast's own. Every client sends a token and a user name, waits for the answer, then joins one room. Compression is off everywhere.",
    `- Load generator: ${method.workers} worker processes holding raw \`ws\` client sockets and speaking each wire protocol directly (roomcast envelopes, the \`ws\` server's JSON, Engine.IO v4 / Socket.IO packets with ping/pong, Pusher frames), so the client cost is the same for all servers. A delivery is recognised by scanning its bytes for \`"seq":\` (or its escaped form inside Pusher's double-encoded data), without parsing JSON. The publisher is one more client socket, in the runner process; the Pusher HTTP API publisher writes the \`pusher\` SDK's signed requests as raw HTTP/1.1 on kept-alive TCP connections from the same process.`,
    ...Object.values(results.cases).map((entry) => `- ${entry.title}: ${entry.skipped !== undefined ? `not run: ${entry.skipped}` : entry.method}`),
  ]
  lines.push(
    `- These figures come from a ${machine.cores}-core virtual machine shared with other work, so absolute numbers move between runs; the ratios between servers measured in the same run are what matters.`,
  )
  return lines.join('\n')
}

export function renderResultsMarkdown(results) {
  return [
    '# roomcast benchmarks',
    '',
    `Generated by \`npm run bench\` (bench/run.mjs, bench/report.mjs) on ${results.date}; do not edit by hand.`,
    `Figures are from a ${results.machine.cores}-core shared machine: the ratios between servers in the same run are what matters.`,
    '',
    '## Targets',
    '',
    targetTable(results) || 'No target could be computed from these results.',
    '',
    '## Results',
    '',
    caseTables(results, { headingLevel: 3 }),
    '',
    '## Method',
    '',
    methodText(results),
    '',
    '## Running',
    '',
    '```',
    'npm run bench                       # the standard suite, writes bench/results.json, bench/RESULTS.md, README',
    'npm run bench -- --case fanout      # one case (fanout, fanout-history, recovery, latency, memory, storm, cluster, pusher-fanout, pusher-publish); others are kept',
    'npm run bench -- --quick            # small and short, one run, writes nothing',
    'npm run bench -- --case fanout --servers roomcast --profile   # CPU profiles into bench/profiles/',
    'npm run bench -- --case storm --profile-window --no-write      # CPU profiles of the measured window only (storm, pusher-fanout)',
    'npm run bench -- --case storm --profile-allocations --no-write # allocation profiles of it (bench/alloc-breakdown.mjs)',
    'npm run bench -- --case storm --instructions --no-write        # instructions per connection under valgrind (repeatable)',
    'node bench/cpu-breakdown.mjs bench/profiles/<file>.cpuprofile  # where the CPU went',
    'node bench/report.mjs               # regenerate the Markdown from results.json',
    '```',
    '',
  ].join('\n')
}

export function renderReadmeSection(results) {
  return [
    `Measured on ${results.date} against a minimal \`ws\` server and Socket.IO 4 (and, for the connection storm, the same minimal server behind Fastify and @fastify/websocket: the framework's floor), side by side on a ${results.machine.cores}-core shared machine (server and load generator pinned to separate cores); the ratios matter more than the absolute figures. Medians of ${results.method.runs} runs, min..max in brackets. Method, versions and how to run: [bench/RESULTS.md](bench/RESULTS.md).`,
    '',
    targetTable(results),
    '',
    caseTables(results, { headingLevel: 3 }),
  ].join('\n')
}

export function writeReports(results) {
  writeFileSync(RESULTS_MD, renderResultsMarkdown(results))
  if (!existsSync(README)) return false
  const readme = readFileSync(README, 'utf8')
  const start = readme.indexOf(START)
  const end = readme.indexOf(END)
  if (start < 0 || end < start) return false
  writeFileSync(README, `${readme.slice(0, start + START.length)}\n${renderReadmeSection(results)}\n${readme.slice(end)}`)
  return true
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const results = JSON.parse(readFileSync(RESULTS_JSON, 'utf8'))
  const readme = writeReports(results)
  console.log(`wrote bench/RESULTS.md${readme ? ' and the README section' : ' (README has no bench markers)'}`)
}
