import type { Registry } from 'prom-client'

/** `metrics: { ... }`: where the Prometheus metrics go and how they are named. */
export interface MetricsOptions {
  /**
   * The prom-client registry to fill (the application's own, to serve roomcast's metrics with
   * its others). Default: a registry of the plugin's own.
   */
  registry?: Registry
  /** Put before every metric name. Default `roomcast_`. */
  prefix?: string
  /** GET route that serves the registry in the Prometheus text format; `false` only fills the registry. Default `/metrics`. */
  route?: string | false
  /** Also collect prom-client's default Node.js process metrics (`collectDefaultMetrics`) into the registry. Default false. */
  defaultMetrics?: boolean
}

/** The `metrics` option once defaulted and checked. */
export interface ResolvedMetricsOptions {
  registry: Registry | undefined
  prefix: string
  route: string | false
  defaultMetrics: boolean
}

/** Prometheus metric names: `[a-zA-Z_:][a-zA-Z0-9_:]*`; the prefix is the start of one. */
const PREFIX = /^[a-zA-Z_:][a-zA-Z0-9_:]*$|^$/

/** Undefined when metrics are off (the default). */
export function resolveMetricsOptions(option: boolean | MetricsOptions | undefined): ResolvedMetricsOptions | undefined {
  if (option === undefined || option === false) return undefined
  const options: MetricsOptions = option === true ? {} : option
  if (typeof options !== 'object' || options === null) throw new TypeError('roomcast: metrics must be a boolean or an object')
  const prefix = options.prefix ?? 'roomcast_'
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) throw new TypeError('roomcast: metrics.prefix must match [a-zA-Z_:][a-zA-Z0-9_:]* (or be empty)')
  const route = options.route ?? '/metrics'
  if (route !== false && (typeof route !== 'string' || !route.startsWith('/'))) throw new TypeError('roomcast: metrics.route must start with "/" or be false')
  return { registry: options.registry, prefix, route, defaultMetrics: options.defaultMetrics ?? false }
}
