import { isSystemEvent } from '../../shared/envelope.js'
import type { Delivery } from './delivery.js'
import type { HistoryPolicy, HistoryStore } from './history.js'
import type { HistoryResolver } from './history-policy.js'
import { isProtocolName } from './namespace.js'
import { publishFailed, type PublishOutcome } from './publish-outcome.js'

/**
 * How a publication reaches rooms when some keep history, shared by the hub and the standalone
 * Emitter so both store and split it the same way: stored and published once per history room
 * (each gets its own position, through `store`); the rooms without history share one plain
 * publication (`publishPlain`). Undefined when the delivery is not to rooms or none of its rooms
 * keeps history: the caller publishes it as before. Resolves with the first history room's
 * position. Presence notices and other protocols' rooms are never stored.
 */
export function publishToStreams(
  delivery: Delivery,
  history: HistoryResolver,
  store: Pick<HistoryStore, 'publish'>,
  publishPlain: (delivery: Delivery) => PublishOutcome,
): PublishOutcome | undefined {
  if (delivery.target.kind !== 'rooms' || isSystemEvent(delivery.event)) return undefined
  const rooms = delivery.target.rooms
  let streams: Array<[string, HistoryPolicy]> | undefined
  let plain: string[] | undefined
  for (const room of rooms) {
    const policy = isProtocolName(room) ? undefined : history(room)
    if (policy !== undefined) (streams ??= []).push([room, policy])
    else (plain ??= []).push(room)
  }
  if (streams === undefined) return undefined
  const outcomes: PublishOutcome[] = streams.map(([room, policy]) => {
    const single: Delivery = rooms.length === 1 ? delivery : { ...delivery, target: { kind: 'rooms', rooms: [room] } }
    try {
      return store.publish(room, single, policy)
    } catch (err) {
      return Promise.reject(publishFailed(err instanceof Error ? err : new Error(String(err)), 'the publication could not be stored'))
    }
  })
  if (plain !== undefined) outcomes.push(publishPlain({ ...delivery, target: { kind: 'rooms', rooms: plain } }))
  if (outcomes.length === 1) return outcomes[0]!
  return Promise.all(outcomes).then((positions) => positions[0])
}
