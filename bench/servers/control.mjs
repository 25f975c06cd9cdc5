// The runner's control channel into a bench server process (Node IPC): `ready` once listening,
// then `gc` on request (a forced, full collection so that RSS reflects live objects only) and
// `snapshot` (the same, then a V8 heap snapshot written to the given file; bench/heap-breakdown.mjs).
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
    } else if (message.type === 'stop') {
      process.exit(0)
    }
  })
  process.on('disconnect', () => process.exit(0))
  process.send({ type: 'ready', port, memory: memory() })
}
