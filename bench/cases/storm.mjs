// Case 4: connect + authenticate + join storm. Sockets opened as fast as the server takes them
// (CONCURRENCY handshakes in flight per generator worker); connections per second and the time
// from starting a connection to its join being confirmed.
//
// All servers run at once and the storm comes in ROUNDS: each round opens a slice of the
// connections to each server in turn, so that outside load on a shared machine falls on every
// server alike. Connections stay open, as in a real storm.
import { selfCpu } from './fanout.mjs'
import { Generator, profileWindows, Server, sleep } from '../lib/harness.mjs'
import { pusherChannel } from '../load/protocols.mjs'
import { machineBusySeconds } from '../lib/proc.mjs'
import { percentile } from '../lib/stats.mjs'

export const CONCURRENCY = 50
export const ROUNDS = 6

export default {
  name: 'storm',
  servers: ['roomcast', 'pusher', 'ws', 'socketio', 'fastify'],
  title: 'Connect + authenticate + join storm',
  method: () =>
    `N connections, each one connecting, authenticating and joining a room (roomcast's Pusher endpoint: connecting, receiving \`pusher:connection_established\` and subscribing to a private channel with the HMAC signature an auth endpoint would give, computed by the generator), with ${CONCURRENCY} handshakes in flight per generator worker. All servers run at once and the storm comes in ${ROUNDS} rounds, each opening 1/${ROUNDS} of the connections to every server in turn; connections stay open. Connections/s is the number opened over the time from the first start to the last confirmed join of each round; p50/p99 are per connection, connect → join confirmed.`,
  variants: (ctx) => [
    { key: `n${ctx.quick ? 600 : 3000}`, label: `${(ctx.quick ? 600 : 3000).toLocaleString('en-US')} connections`, n: ctx.quick ? 600 : 3000 },
  ],
  metrics: [
    { key: 'connectionsPerSec', label: 'connections/s', better: 'higher', format: 'int' },
    { key: 'connectionsPerCpuSec', label: 'connections per server CPU-s', better: 'higher', format: 'int' },
    { key: 'p50', label: 'connect→joined p50 (ms)', better: 'lower', format: 'ms' },
    { key: 'p99', label: 'connect→joined p99 (ms)', better: 'lower', format: 'ms' },
    { key: 'serverCpuUtil', label: 'server CPU', better: 'info', format: 'percent' },
    { key: 'generatorCpuUtil', label: 'generator CPU', better: 'info', format: 'percent' },
    { key: 'outsideLoad', label: 'other load (cores)', better: 'info', format: 'cores' },
  ],
  /** One run for every server, in interleaved rounds; returns server → sample. */
  async measureAll(kinds, variant, ctx) {
    const servers = []
    let generator
    try {
      for (const kind of kinds) servers.push(await Server.start(kind, { cores: ctx.plan.server, profile: ctx.profile }))
      generator = await Generator.start(ctx.workers, ctx.plan.generator)
      // Counting instructions, V8 compiles on the main thread (--single-threaded), where it is
      // counted: a longer warm-up gets the hot code optimized before the rounds.
      const warmUp = ctx.profile === 'instructions' ? 1000 : 200
      for (const server of servers) await generator.connect(server.kind, server.port, warmUp, 'warm-up', { concurrency: 20 })
      await generator.closeSockets()
      await sleep(500)
      const totals = Object.fromEntries(kinds.map((kind) => [kind, { opened: 0, span: 0, seconds: 0, server: 0, generator: 0, machine: 0, times: [] }]))
      const perRound = Math.ceil(variant.n / ROUNDS)
      await profileWindows(servers, variant.key, async () => {
        for (let round = 0; round < ROUNDS; round++) {
          for (const server of servers) {
            const total = totals[server.kind]
            const count = Math.min(perRound, variant.n - round * perRound)
            if (count <= 0) continue
            const serverBefore = server.cpu()
            const generatorBefore = generator.cpu() + selfCpu()
            const machineBefore = machineBusySeconds()
            const t0 = performance.now()
            const result = await server.countInstructions(() =>
              generator.connect(server.kind, server.port, count, pusherChannel(server.kind, 'storm'), {
                concurrency: CONCURRENCY,
                user: `r${round}`,
              }),
            )
            if (result.failed > 0) throw new Error(`${server.kind}: ${result.failed} of ${count} connections failed: ${result.firstError}`)
            total.seconds += (performance.now() - t0) / 1000
            total.span += (result.endedAt - result.startedAt) / 1e6
            total.opened += result.opened
            total.server += server.cpu() - serverBefore
            total.generator += generator.cpu() + selfCpu() - generatorBefore
            total.machine += machineBusySeconds() - machineBefore
            total.times.push(...result.times)
          }
        }
      })
      const byKind = Object.fromEntries(servers.map((server) => [server.kind, server]))
      return Object.fromEntries(
        kinds.map((kind) => {
          const total = totals[kind]
          return [
            kind,
            {
              connectionsPerSec: total.opened / total.span,
              connectionsPerCpuSec: total.opened / total.server,
              p50: percentile(total.times, 50),
              p99: percentile(total.times, 99),
              serverCpuUtil: total.server / total.seconds,
              generatorCpuUtil: total.generator / total.seconds / ctx.generatorCores,
              outsideLoad: Math.max(0, total.machine - total.server - total.generator) / total.seconds,
              // With --instructions: what callgrind counted over the rounds, per connection (not a table column).
              ...(byKind[kind].instructions === undefined ? {} : { instructionsPerConnection: byKind[kind].instructions / total.opened }),
            },
          ]
        }),
      )
    } finally {
      await generator?.stop()
      for (const server of servers) await server.stop()
    }
  },
}
