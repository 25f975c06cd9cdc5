/** Why a node is not ready for new connections. */
export type NotReadyReason = 'draining' | 'shutting_down' | 'adapter_disconnected'

/** `app.roomcast.health()`: what the liveness and readiness routes answer. */
export interface HealthReport {
  /** The process answers: always true while it can answer at all. */
  live: boolean
  /** It should get new connections: not draining, not shutting down, its adapter connected. */
  ready: boolean
  /** Why it is not ready; empty when it is. */
  reasons: NotReadyReason[]
}

/** What readiness reads of a node. */
export interface HealthSource {
  readonly draining: boolean
  readonly shuttingDown: boolean
  readonly adapter: { readonly connected?: boolean }
}

/** The node's health now; cheap enough for a probe every second. */
export function healthOf(node: HealthSource): HealthReport {
  const reasons: NotReadyReason[] = []
  if (node.draining) reasons.push('draining')
  if (node.shuttingDown) reasons.push('shutting_down')
  if (node.adapter.connected === false) reasons.push('adapter_disconnected')
  return { live: true, ready: reasons.length === 0, reasons }
}
