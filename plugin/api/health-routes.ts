import type { FastifyInstance } from 'fastify'
import type { ResolvedHealthOptions } from './health-options.js'
import { healthOf, type HealthSource } from './health.js'

/**
 * `GET live`: 200 `{ live: true }` while the process answers (a liveness probe restarts it
 * otherwise). `GET ready`: 200 `{ ready: true }`, or 503 `{ ready: false, reasons }` while the
 * node should get no new connections, so a load balancer sends them elsewhere.
 */
export function registerHealthRoutes(app: FastifyInstance, node: HealthSource, options: ResolvedHealthOptions): void {
  // Never cached: a probe must see the node as it is now.
  app.get(options.live, async (_request, reply) => {
    reply.header('cache-control', 'no-store')
    return { live: true }
  })
  app.get(options.ready, async (_request, reply) => {
    reply.header('cache-control', 'no-store')
    const { ready, reasons } = healthOf(node)
    if (ready) return { ready: true }
    return reply.code(503).send({ ready: false, reasons })
  })
}
