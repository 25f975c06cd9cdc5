import type { StreamPosition } from '../../shared/envelope.js'

/** Who a delivery is for. Every form resolves to local connections on each node. */
export type Target = { kind: 'rooms'; rooms: string[] } | { kind: 'users'; users: string[] } | { kind: 'connections'; ids: string[] } | { kind: 'all' }

/**
 * One message on its way to its recipients, in the form that crosses adapters and nodes.
 * `data` is the JSON text of the payload, produced once by the publisher, so no node and no
 * recipient serializes it again.
 */
export interface Delivery {
  target: Target
  /** Connection ids that must not receive it. */
  except?: string[]
  event: string
  /** JSON text of the payload; absent for events without data. */
  data?: string
  /**
   * Which wire protocols receive it. Absent: every protocol. Protocol-internal events (a
   * Pusher presence notice, say) name theirs so other clients never see them.
   */
  protocol?: string
  /**
   * The user an event comes from, for protocols that show it: Pusher adds it as `user_id` to
   * client events on presence channels (its JSON type kept). Adapters carry it across nodes.
   */
  userId?: string | number
  /**
   * A publication to a room with history: its place in the room's stream, set by the history
   * store, carried to every node and shown to clients (native envelopes' `epoch` / `offset`).
   */
  position?: StreamPosition
}

/** Serializes a payload once for a delivery. `undefined` stays absent. */
export function encodeData(data: unknown): string | undefined {
  return data === undefined ? undefined : JSON.stringify(data)
}
