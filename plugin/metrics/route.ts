import type { FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'

/** `GET route`: the registry in the Prometheus text format, for Prometheus to scrape. */
export function registerMetricsRoute(app: FastifyInstance, registry: Registry, route: string): void {
  app.get(route, async (_request, reply) => {
    const text = await registry.metrics()
    return reply.type(registry.contentType).send(text)
  })
}
