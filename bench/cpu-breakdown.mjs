// Where a server's CPU went, from a V8 .cpuprofile (`node --cpu-prof`, bench/run.mjs --profile):
// self time summed by part of the HTTP publish path, by file and by function, as shares of the
// time the server was busy (idle time and module loading left out).
//
//   node bench/cpu-breakdown.mjs bench/profiles/pusher-....cpuprofile [--top 25]
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

/**
 * The parts of a publish. A sample is put where the innermost frame of its stack that belongs to
 * a part is: a digest under the signature check counts as the signature check, a `writev` under
 * Node's HTTP response as Node HTTP, one under the per-turn cork flush as socket writes. Frames
 * of no part (events, streams, net, crypto, natives) pass the sample on to their caller.
 */
const PARTS = [
  ['start-up (module loading)', (url) => /^node:internal\/(modules|bootstrap)\//.test(url)],
  ['signature check', (url) => /\/pusher\/(http\/request-auth|signatures)\.js$/.test(url)],
  [
    'body parse and validation',
    (url) => /\/pusher\/http\/(accept|publish|api-path|info|schemas)\.js$|\/shared\/(validator|json-depth)\.js$|@sinclair\/typebox/.test(url),
  ],
  ['API routes, hooks and endpoints', (url) => /\/pusher\/http\//.test(url)],
  ['socket writes (frames, per-turn corking)', (url) => /\/dist\/plugin\/ws\/|\/node_modules\/ws\//.test(url)],
  ['trigger and hub publish', (url) => /\/dist\/plugin\//.test(url)],
  ['other roomcast', (url) => /\/dist\//.test(url)],
  [
    'Fastify routing and lifecycle',
    (url) => /\/node_modules\/(fastify|find-my-way|avvio|fast-json-stringify|fast-querystring|secure-json-parse|@fastify\/)/.test(url),
  ],
  ['Node HTTP (parser, request, response)', (url) => /^node:_http_/.test(url)],
]
/** What a sample is when no frame of its stack belongs to a part. */
const SPECIAL = { '(garbage collector)': 'garbage collection', '(program)': 'V8 (program)', '(idle)': 'idle' }
const RUNTIME = 'Node runtime (event loop, microtasks, net)'

/** Self milliseconds by part, by file and by function; `busyMs` leaves idle and start-up time out. */
export function breakdown(file) {
  const profile = JSON.parse(readFileSync(file, 'utf8'))
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
  const parents = new Map()
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id)
  const selfUs = new Map()
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  }
  const partOf = (id) => {
    const name = nodes.get(id).callFrame.functionName
    if (Object.hasOwn(SPECIAL, name)) return SPECIAL[name]
    // The outermost start-up frame wins over everything inside it.
    let part
    for (let at = id; at !== undefined; at = parents.get(at)) {
      const { url } = nodes.get(at).callFrame
      if (PARTS[0][1](url)) return PARTS[0][0]
      part ??= PARTS.find(([, matches]) => matches(url))?.[0]
    }
    return part ?? RUNTIME
  }
  const byPart = new Map()
  const byFile = new Map()
  const byFunction = new Map()
  let busyUs = 0
  for (const [id, us] of selfUs) {
    const { url, functionName, lineNumber } = nodes.get(id).callFrame
    const part = partOf(id)
    byPart.set(part, (byPart.get(part) ?? 0) + us)
    if (part === 'idle' || part === PARTS[0][0]) continue
    busyUs += us
    const where = shortUrl(url)
    byFile.set(where, (byFile.get(where) ?? 0) + us)
    const fn = `${functionName || '(anonymous)'} ${where}${url === '' ? '' : `:${lineNumber + 1}`}`
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us)
  }
  const startupMs = (byPart.get(PARTS[0][0]) ?? 0) / 1000
  byPart.delete('idle')
  byPart.delete(PARTS[0][0])
  return { busyMs: busyUs / 1000, startupMs, byPart: sorted(byPart), byFile: sorted(byFile), byFunction: sorted(byFunction) }
}

function shortUrl(url) {
  if (url === '') return '(native)'
  const path = url.replace(/^file:\/\//, '')
  const at = path.lastIndexOf('/node_modules/')
  if (at >= 0) return path.slice(at + '/node_modules/'.length)
  const dist = path.indexOf('/dist/')
  return dist >= 0 ? path.slice(dist + 1) : path
}

function sorted(map) {
  return [...map].map(([key, us]) => [key, us / 1000]).sort((a, b) => b[1] - a[1])
}

/** The breakdown as text: parts, then the top files and functions. */
export function formatBreakdown({ busyMs, startupMs, byPart, byFile, byFunction }, top = 25) {
  const line = ([key, ms]) => `  ${((ms / busyMs) * 100).toFixed(1).padStart(5)}%  ${ms.toFixed(0).padStart(6)} ms  ${key}`
  return [
    `busy ${busyMs.toFixed(0)} ms (self time; idle and ${startupMs.toFixed(0)} ms of start-up left out)`,
    'by part:',
    ...byPart.map(line),
    `top ${top} files:`,
    ...byFile.slice(0, top).map(line),
    `top ${top} functions:`,
    ...byFunction.slice(0, top).map(line),
  ].join('\n')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } })
  for (const file of positionals) console.log(`${file}\n${formatBreakdown(breakdown(file), Number(values.top))}\n`)
}
