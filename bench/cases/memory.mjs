// Case 3: idle memory. Server RSS (and V8 heap) per authenticated connection joined to a room,
// both read after forced full collections, minus the same reading before the connections.
import { Generator, Server, sleep } from '../lib/harness.mjs'

export default {
  name: 'memory',
  servers: ['roomcast', 'pusher', 'ws', 'socketio'],
  title: 'Idle memory per joined connection',
  method: () =>
    "N connections authenticated and joined to one room (roomcast's Pusher endpoint: connected and subscribed to one private channel with a valid signature), then idle; the server's RSS and V8 heap are read after forced full collections (`--expose-gc`, four passes), minus the same reading taken after a 200-connection warm-up had connected and closed (so compiled code and caches are not counted per connection).",
  variants: (ctx) => [
    { key: `n${ctx.quick ? 500 : 5000}`, label: `${(ctx.quick ? 500 : 5000).toLocaleString('en-US')} connections`, n: ctx.quick ? 500 : 5000 },
  ],
  metrics: [
    { key: 'rssPerConnection', label: 'RSS per connection (KiB)', better: 'lower', format: 'kib' },
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
      const connected = await generator.connect(kind, server.port, variant.n, 'idle', { concurrency: 50 })
      if (connected.failed > 0) throw new Error(`${connected.failed} of ${variant.n} connections failed: ${connected.firstError}`)
      await sleep(1000)
      const after = await server.gc()
      return {
        rssPerConnection: (after.rss - before.rss) / variant.n,
        heapPerConnection: (after.heapUsed - before.heapUsed) / variant.n,
        rssAfter: after.rss,
      }
    } finally {
      await generator.stop()
      await server.stop()
    }
  },
}
