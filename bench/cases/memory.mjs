// Case 3: idle memory. Server RSS (and V8 heap) per authenticated connection joined to a room,
// both read after forced full collections, minus the same reading before the connections.
//
// RSS is read twice. One second after the last connection, V8's young generation is still sized
// for the storm that opened them (it grows with the bytes that survive scavenges, whoever holds
// them), and that dominates the figure. Once the server has been idle for SETTLE_MS, V8's memory
// reducer has run and given that back: the second reading is what idle connections hold.
import { Generator, Server, sleep } from '../lib/harness.mjs'
import { pusherChannel } from '../load/protocols.mjs'

/** Idle time after which V8's memory reducer (first run about 8 s after activity stops) has shrunk the heap. */
export const SETTLE_MS = 15_000

export default {
  name: 'memory',
  servers: ['roomcast', 'pusher', 'ws', 'socketio'],
  title: 'Idle memory per joined connection',
  method: () =>
    `N connections authenticated and joined to one room (roomcast's Pusher endpoint: connected and subscribed to one private channel with a valid signature), then idle; the server's RSS and V8 heap are read after forced full collections (\`--expose-gc\`, four passes), minus the same reading taken after a 200-connection warm-up had connected and closed (so compiled code and caches are not counted per connection). "1 s after" is read one second after the last connection (and 0.5 s after the warm-up), when V8's young generation is still sized for the storm that opened them; "idle" is read after ${SETTLE_MS / 1000} s without traffic (both readings), once V8's memory reducer has given that back; the JS heap figure is the idle one.`,
  variants: (ctx) => [
    { key: `n${ctx.quick ? 500 : 5000}`, label: `${(ctx.quick ? 500 : 5000).toLocaleString('en-US')} connections`, n: ctx.quick ? 500 : 5000 },
  ],
  metrics: [
    { key: 'idleRssPerConnection', label: 'idle RSS per connection (KiB)', better: 'lower', format: 'kib' },
    { key: 'rssPerConnection', label: 'RSS per connection 1 s after (KiB)', better: 'lower', format: 'kib' },
    { key: 'heapPerConnection', label: 'JS heap per connection (KiB)', better: 'lower', format: 'kib' },
  ],
  async measure(kind, variant, ctx) {
    const server = await Server.start(kind, { cores: ctx.plan.server })
    const generator = await Generator.start(ctx.workers, ctx.plan.generator)
    try {
      // A first batch runs every code path once, so one-time allocations (compiled code,
      // validators, caches) are in the baseline and not counted per connection.
      await generator.connect(kind, server.port, 200, 'warm-up', { concurrency: 20 })
      await generator.closeSockets()
      await sleep(500)
      const before = await server.gc()
      const settle = ctx.quick ? SETTLE_MS / 5 : SETTLE_MS
      await sleep(settle)
      const idleBefore = await server.gc()
      const connected = await generator.connect(kind, server.port, variant.n, pusherChannel(kind, 'idle'), { concurrency: 50 })
      if (connected.failed > 0) throw new Error(`${connected.failed} of ${variant.n} connections failed: ${connected.firstError}`)
      await sleep(1000)
      const after = await server.gc()
      await sleep(settle)
      const idleAfter = await server.gc()
      return {
        idleRssPerConnection: (idleAfter.rss - idleBefore.rss) / variant.n,
        rssPerConnection: (after.rss - before.rss) / variant.n,
        heapPerConnection: (idleAfter.heapUsed - idleBefore.heapUsed) / variant.n,
        rssAfter: idleAfter.rss,
      }
    } finally {
      await generator.stop()
      await server.stop()
    }
  },
}
