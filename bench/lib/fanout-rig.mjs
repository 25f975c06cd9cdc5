// What the interleaved fan-out cases set up alike: servers side by side on the server core, each
// with a room of N subscribers in the generator's workers and a publisher of its own, and one
// FanoutDriver taking turns between them (a group per server), torn down whatever happens.
import { FanoutDriver } from './fanout-driver.mjs'
import { Generator, openPublisher, Server } from './harness.mjs'

/**
 * Starts the servers of `specs` (each `{ name, kind, room, args?, via?, user? }`; `name` is the
 * driver's group), connects `n` subscribers to each and opens its publisher, then runs
 * `measure({ servers, byName, generator, driver })`, servers in the order of `specs`.
 */
export async function withFanoutRig(ctx, { specs, n, concurrency = 50 }, measure) {
  const servers = []
  const publishers = []
  let generator
  let driver
  try {
    for (const spec of specs) servers.push(await Server.start(spec.kind, { cores: ctx.plan.server, profile: ctx.profile, args: spec.args ?? [] }))
    generator = await Generator.start(ctx.workers, ctx.plan.generator)
    const groups = {}
    for (const [i, spec] of specs.entries()) {
      const port = servers[i].port
      const connected = await generator.connect(spec.kind, port, n, spec.room, { concurrency, group: spec.name, user: spec.user })
      if (connected.failed > 0) throw new Error(`${spec.name}: ${connected.failed} of ${n} subscribers failed: ${connected.firstError}`)
      const publisher = await openPublisher(spec.kind, port, { via: spec.via, room: spec.room })
      publishers.push(publisher)
      groups[spec.name] = { publisher, room: spec.room, activeWorkers: connected.shares.filter((share) => share > 0).length }
    }
    driver = new FanoutDriver(generator, groups)
    const byName = Object.fromEntries(specs.map((spec, i) => [spec.name, servers[i]]))
    return await measure({ servers, byName, generator, driver })
  } finally {
    driver?.close()
    for (const publisher of publishers) publisher.close()
    await generator?.stop()
    for (const server of servers) await server.stop()
  }
}
