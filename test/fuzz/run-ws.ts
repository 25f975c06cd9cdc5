/**
 * The fuzz loop of a WebSocket endpoint, in a server process of its own: frames one after
 * another, each answer judged, a crash counted (and the server restarted), the observers
 * checked every BEACON_EVERY cases and at the end, the heap measured before and after.
 */
import type fc from 'fast-check'
import { BEACON_EVERY, checkObservers, FuzzServer, FuzzStats, observers, RUNS, samples, type Observer } from './harness.js'
import type { FrameCase } from './frames.js'
import { describe, FuzzSocket, type Judge, type Protocol } from './ws-driver.js'

export interface FuzzResult {
  stats: FuzzStats
  crashes: number
  heapGrowth: number
  summary: string
}

export async function fuzzWebSocket(name: string, protocol: Protocol, frames: fc.Arbitrary<FrameCase>, judge: Judge, salt: number): Promise<FuzzResult> {
  const server = new FuzzServer()
  await server.start()
  const stats = new FuzzStats(name)
  let watching: Observer[] = await observers(server.port)
  const socket = new FuzzSocket(protocol)
  try {
    // Warm up before the baseline: lazily compiled validators and caches are not leaks.
    await checkObservers(server, watching, 0)
    const heapBefore = await server.heapUsed()
    let n = 0
    for (const frame of samples(frames, RUNS, salt)) {
      n++
      const answer = await socket.send(server.port, frame)
      if (answer.close === 1006 && !(await responds(server))) {
        // The process died: count it, keep the input, start again.
        stats.answered(frame.kind, 'crash', false, describe(frame) + '\n' + server.stderr.slice(-600))
        for (const observer of watching) observer.close()
        await server.whenExited()
        await server.start()
        watching = await observers(server.port)
        continue
      }
      const { label, ok } = answer.hung === true ? { label: 'no answer', ok: false } : judge(frame, answer)
      stats.answered(frame.kind, label, ok, describe(frame))
      if (n % BEACON_EVERY === 0) await checkObservers(server, watching, n)
    }
    await checkObservers(server, watching, n + 1)
    const heapGrowth = (await server.heapUsed()) - heapBefore
    return { stats, crashes: server.crashes, heapGrowth, summary: stats.summary(server.crashes, heapGrowth) }
  } finally {
    socket.close()
    for (const observer of watching) observer.close()
    await server.stop()
  }
}

async function responds(server: FuzzServer): Promise<boolean> {
  if (!server.alive) return false
  try {
    await server.heapUsed()
    return true
  } catch {
    return false
  }
}
