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

/** Undefined when the routes are off (the default); `app.roomcast.health()` answers either way. */
export function resolveHealthOptions(option: boolean | HealthOptions | undefined): ResolvedHealthOptions | undefined {
  if (option === undefined || option === false) return undefined
  const options: HealthOptions = option === true ? {} : option
  if (typeof options !== 'object' || options === null) throw new TypeError('roomcast: health must be a boolean or an object')
  const live = routePath('health.live', options.live ?? '/health/live')
  const ready = routePath('health.ready', options.ready ?? '/health/ready')
  if (live === ready) throw new TypeError('roomcast: health.live and health.ready must be different routes')
  return { live, ready }
}

function routePath(name: string, value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/')) throw new TypeError(`roomcast: ${name} must start with "/"`)
  return value
}
