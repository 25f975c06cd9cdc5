// The runner's control channel into a bench server process (Node IPC): `ready` once listening,
// then `gc` on request (a forced, full collection so that RSS reflects live objects only) and
// `snapshot` (the same, then a V8 heap snapshot written to the given file; bench/heap-breakdown.mjs),
// and `profile-start` / `profile-stop` (a CPU or allocation profile of just the measured window,
// written to the given file; `--profile-window` and `--profile-allocations` of bench/run.mjs), so
// that set-up and teardown stay out of it.
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8'

/** The token every bench client presents; anything else is refused by all three servers. */
export const TOKEN = 'bench-token'

/** Port from the command line (`--port N`), 0 for a random one. */
export function portArgument() {
  const index = process.argv.indexOf('--port')
  return index >= 0 ? Number(process.argv[index + 1]) : 0
}

/** The value of `--name value`, or undefined. */
export function argument(name) {
  const index = process.argv.indexOf(`--${name}`)
  return index >= 0 ? process.argv[index + 1] : undefined
}

function memory() {
  const usage = process.memoryUsage()
  // The committed size of each V8 heap space: what of the RSS is the JS heap, live or not.
  const spaces = Object.fromEntries(getHeapSpaceStatistics().map((space) => [space.space_name, space.space_size]))
  return { rss: usage.rss, heapUsed: usage.heapUsed, heapTotal: usage.heapTotal, external: usage.external, arrayBuffers: usage.arrayBuffers, spaces }
}

/** Several full collections, with pauses that let weak callbacks and finalizers run between them. */
async function collect() {
  if (typeof globalThis.gc !== 'function') throw new Error('start the server with --expose-gc')
  for (let i = 0; i < 4; i++) {
    globalThis.gc()
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** The inspector session and kind of a windowed profile, while one is being taken. */
let profiling

/** Starts a CPU profile (`cpu`) or an allocation profile (`allocations`): each would distort the other. */
async function startProfile(kind) {
  profiling = { session: new Session(), kind }
  profiling.session.connect()
  if (kind === 'cpu') {
    await profiling.session.post('Profiler.enable')
    // Finer than --cpu-prof's 1 ms: a window of a few seconds then still holds enough samples.
    await profiling.session.post('Profiler.setSamplingInterval', { interval: 250 })
    await profiling.session.post('Profiler.start')
  } else {
    await profiling.session.post('HeapProfiler.enable')
    // Every allocation is sampled, collected or not: what the collector had to deal with, not what survived.
    await profiling.session.post('HeapProfiler.startSampling', {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    })
  }
}

async function stopProfile(file) {
  const { session, kind } = profiling
  profiling = undefined
  const { profile } = await session.post(kind === 'cpu' ? 'Profiler.stop' : 'HeapProfiler.stopSampling')
  session.disconnect()
  writeFileSync(file, JSON.stringify(profile))
}

/**
 * Reports readiness and answers control requests. `stop` exits at once: the runner only stops
 * a server after its clients are gone, and a graceful close would skew nothing it measures.
 */
export function serveControl(port) {
  if (typeof process.send !== 'function') {
    console.log(`listening on 127.0.0.1:${port}`)
    return
  }
  process.on('message', async (message) => {
    if (message.type === 'gc') {
      await collect()
      process.send({ type: 'gc', id: message.id, memory: memory() })
    } else if (message.type === 'snapshot') {
      await collect()
      const usage = memory()
      writeHeapSnapshot(message.file)
      process.send({ type: 'snapshot', id: message.id, memory: usage })
    } else if (message.type === 'profile-start') {
      await startProfile(message.kind)
      process.send({ type: 'profile-start', id: message.id })
    } else if (message.type === 'profile-stop') {
      await stopProfile(message.file)
      process.send({ type: 'profile-stop', id: message.id })
    } else if (message.type === 'stop') {
      process.exit(0)
    }
  })
  process.on('disconnect', () => process.exit(0))
  process.send({ type: 'ready', port, memory: memory() })
}
