/**
 * A prom-client `Registry`, described by the members roomcast uses, so that the published types
 * name no type of prom-client's: an application without it (the default, metrics off) compiles
 * without `skipLibCheck`. Any prom-client 15 `Registry` (`new Registry()`, the global `register`) is one.
 */
export interface MetricsRegistry {
  registerMetric(metric: never): void
  getSingleMetric(name: string): unknown
  metrics(): Promise<string>
  readonly contentType: string
}

/** `metrics: { ... }`: where the Prometheus metrics go and how they are named. */
export interface MetricsOptions {
  /**
   * The prom-client registry to fill (the application's own, to serve roomcast's metrics with
   * its others). Default: a registry of the plugin's own.
   */
  registry?: MetricsRegistry
  /** Put before every metric name. Default `roomcast_`. */
  prefix?: string
  /** GET route that serves the registry in the Prometheus text format; `false` only fills the registry. Default `/metrics`. */
  route?: string | false
  /** Also collect prom-client's default Node.js process metrics (`collectDefaultMetrics`) into the registry. Default false. */
  defaultMetrics?: boolean
}

/** The `metrics` option once defaulted and checked. */
export interface ResolvedMetricsOptions {
  registry: MetricsRegistry | undefined
  prefix: string
  route: string | false
  defaultMetrics: boolean
}

/**
 * The option's shape (a metric-name prefix, a route or false) is checked by the options' schema;
 * `prefix` is Fastify's register prefix, joined to the route as to every other route of the plugin.
 */
export function resolveMetricsOptions(option: boolean | MetricsOptions | undefined, prefix = ''): ResolvedMetricsOptions | undefined {
  if (option === undefined || option === false) return undefined
  const options: MetricsOptions = option === true ? {} : option
  const route = options.route ?? '/metrics'
  return {
    registry: options.registry,
    prefix: options.prefix ?? 'roomcast_',
    route: route === false ? false : prefix + route,
    defaultMetrics: options.defaultMetrics ?? false,
  }
}
