import { invalidOption } from '../hub/option-check.js'

/** `health: { ... }`: where the liveness and readiness routes are. */
export interface HealthOptions {
  /** Liveness route: 200 `{ live: true }` while the process answers. Default `/health/live`. */
  live?: string
  /**
   * Readiness route: 200 `{ ready: true }`, or 503 `{ ready: false, reasons }` while the node
   * drains, shuts down or has lost its adapter's connection. Default `/health/ready`.
   */
  ready?: string
}

/** The `health` option once defaulted and checked. */
export interface ResolvedHealthOptions {
  live: string
  ready: string
}

/**
 * Undefined when the routes are off (the default); `app.roomcast.health()` answers either way.
 * The option's shape is checked by the options' schema; `prefix` is Fastify's register prefix,
 * joined to the routes as to every other route of the plugin.
 */
export function resolveHealthOptions(option: boolean | HealthOptions | undefined, prefix = ''): ResolvedHealthOptions | undefined {
  if (option === undefined || option === false) return undefined
  const options: HealthOptions = option === true ? {} : option
  const live = options.live ?? '/health/live'
  const ready = options.ready ?? '/health/ready'
  if (live === ready) invalidOption(`health.live and health.ready must be different routes (both are "${live}")`)
  return { live: prefix + live, ready: prefix + ready }
}
