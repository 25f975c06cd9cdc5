// Where an idle connection's bytes go: for each server, a V8 heap snapshot after a warm-up
// (connected and closed again) and one with N idle joined connections, both after forced full
// collections. Live objects are grouped by constructor (or kind, for strings, closures, arrays
// and V8 internals) and the difference between the two snapshots is divided by N: the self
// size each connection adds, by what holds it. process.memoryUsage() is read at both points
// too, so the part of RSS outside the JS heap shows.
//
//   node bench/heap-breakdown.mjs [--servers roomcast,pusher,ws,fastify] [--n 2000] [--top 30] [--no-build]
//
// The snapshots are written to bench/profiles/ and deleted once read.
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Generator, PROFILE_DIR, Server, sleep } from './lib/harness.mjs'
import { corePlan, pinSelf, request } from './lib/proc.mjs'

const { values: args } = parseArgs({
  options: {
    servers: { type: 'string', default: 'roomcast,pusher,ws,fastify' },
    n: { type: 'string', default: '2000' },
    top: { type: 'string', default: '30' },
    workers: { type: 'string', default: '2' },
    'no-build': { type: 'boolean', default: false },
  },
})

const root = fileURLToPath(new URL('..', import.meta.url))
if (!args['no-build']) {
  execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.json`], { stdio: 'inherit' })
}

/**
 * Self size per group of live nodes in a snapshot. Objects group by constructor name; strings,
 * closures (by function name), arrays and V8's hidden and code objects by kind, since their
 * names are their contents.
 */
function groups(file) {
  const snapshot = JSON.parse(readFileSync(file, 'utf8'))
  const fields = snapshot.snapshot.meta.node_fields
  const types = snapshot.snapshot.meta.node_types[0]
  const width = fields.length
  const typeAt = fields.indexOf('type')
  const nameAt = fields.indexOf('name')
  const sizeAt = fields.indexOf('self_size')
  const { nodes, strings } = snapshot
  const totals = new Map()
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]]
    const name = strings[nodes[i + nameAt]]
    let key
    switch (type) {
      case 'object':
      case 'native':
        key = name
        break
      case 'closure':
        key = `(closure) ${name || 'anonymous'}`
        break
      case 'string':
      case 'concatenated string':
      case 'sliced string':
        key = '(string)'
        break
      case 'hidden':
      case 'object shape':
        key = `(${type}) ${name.startsWith('system / ') ? name.slice(9) : name}`.slice(0, 60)
        break
      default:
        key = `(${type})`
    }
    const entry = totals.get(key) ?? { size: 0, count: 0 }
    entry.size += nodes[i + sizeAt]
    entry.count++
    totals.set(key, entry)
  }
  return totals
}

async function snapshot(server, name) {
  const file = `${PROFILE_DIR}/${server.kind}-${name}-${process.pid}.heapsnapshot`
  const { memory } = await request(server.child, { type: 'snapshot', file }, 300_000)
  const totals = groups(file)
  rmSync(file)
  return { memory, totals }
}

function bytes(value) {
  return value.toFixed(0).padStart(7)
}

async function breakdown(kind, n, plan) {
  const server = await Server.start(kind, { cores: plan.server })
  const generator = await Generator.start(Number(args.workers), plan.generator)
  try {
    await generator.connect(kind, server.port, 200, 'warm-up', { concurrency: 20 })
    await generator.closeSockets()
    await sleep(500)
    const before = await snapshot(server, 'before')
    const connected = await generator.connect(kind, server.port, n, 'idle', { concurrency: 50 })
    if (connected.failed > 0) throw new Error(`${connected.failed} of ${n} connections failed: ${connected.firstError}`)
    await sleep(1000)
    const after = await snapshot(server, 'after')
    return { before, after }
  } finally {
    await generator.stop()
    await server.stop()
  }
}

const plan = corePlan()
pinSelf(plan.generator)
mkdirSync(PROFILE_DIR, { recursive: true })
const n = Number(args.n)
for (const kind of args.servers.split(',').map((name) => name.trim())) {
  const { before, after } = await breakdown(kind, n, plan)
  console.log(`\n## ${kind}: bytes per idle connection, ${n.toLocaleString('en-US')} connections`)
  const memory = Object.keys(after.memory).map((key) => `${key} ${((after.memory[key] - before.memory[key]) / n).toFixed(0)}`)
  console.log(`memoryUsage: ${memory.join(', ')}`)
  const rows = []
  for (const [key, entry] of after.totals) {
    const was = before.totals.get(key) ?? { size: 0, count: 0 }
    rows.push({ key, size: (entry.size - was.size) / n, count: (entry.count - was.count) / n })
  }
  for (const [key, was] of before.totals) if (!after.totals.has(key)) rows.push({ key, size: -was.size / n, count: -was.count / n })
  rows.sort((a, b) => Math.abs(b.size) - Math.abs(a.size))
  const total = rows.reduce((sum, row) => sum + row.size, 0)
  console.log(`snapshot self size: ${total.toFixed(0)} bytes per connection`)
  console.log('  bytes  objects  group')
  for (const row of rows.slice(0, Number(args.top))) console.log(`${bytes(row.size)}  ${row.count.toFixed(2).padStart(7)}  ${row.key}`)
}
