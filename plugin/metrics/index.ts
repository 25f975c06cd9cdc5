/**
 * The `metrics` option: prom-client is imported only when it is on, the hub is given its
 * counters, and once the protocols are registered the scrape-time metrics and the route are added.
 */
import type { FastifyInstance } from 'fastify'
import { loadPromClient } from './load.js'
import type { ResolvedMetricsOptions } from './options.js'
import { type MetricSources, PrometheusMetrics } from './prometheus.js'
import { registerMetricsRoute } from './route.js'

export { PromClientMissingError } from './load.js'

/** Loads prom-client and creates the metrics (nothing is read yet); throws `PromClientMissingError` without it. */
export async function createMetrics(options: ResolvedMetricsOptions): Promise<PrometheusMetrics> {
  return new PrometheusMetrics(await loadPromClient(), options)
}

/** Starts reading the running node and serves the registry on the route, unless `route: false`. */
export function startMetrics(app: FastifyInstance, metrics: PrometheusMetrics, sources: MetricSources): void {
  metrics.observe(sources)
  if (metrics.route !== false) registerMetricsRoute(app, metrics.registry, metrics.route)
}
