import { ErrorCode } from '../../shared/codes.js'
import type { StreamPosition } from '../../shared/envelope.js'
import { RoomcastError } from '../../shared/errors.js'

/**
 * What a publish reports: a promise that resolves once the cluster bus took the delivery and
 * rejects with `RoomcastError('publish_failed')` when it could not be handed over. Local
 * recipients are served at once either way; the outcome is only about the other nodes.
 *
 * A publication to a room with history resolves with its place in the room's stream once it
 * is stored (the first such room's, when the target names several), and rejects with
 * `publish_failed` when it could not be stored: then nobody received it. Rooms without history
 * resolve with undefined.
 */
export type PublishOutcome = Promise<StreamPosition | undefined>

/**
 * The outcome of a publish that needed no bus (one process, or every recipient on this node):
 * one shared, settled promise, so the hot path allocates nothing for it.
 */
export const PUBLISHED: PublishOutcome = Promise.resolve(undefined)

const ignore = (): void => {}

/**
 * Marks an outcome handled, so an application that ignores what `emit()` returned never gets an
 * unhandled rejection (which would end the process); a caller that awaits it still sees the
 * rejection. The failure itself is logged where it happens (the Redis adapter's outage log).
 */
export function handled(outcome: PublishOutcome): PublishOutcome {
  if (outcome !== PUBLISHED) outcome.catch(ignore)
  return outcome
}

const NODE_PUBLISH_FAILED = "the event reached this node's recipients, but the cluster bus did not take it: recipients on other nodes did not get it"

/**
 * The error a publish rejects with when the bus did not take it; `cause` says why (kept off the
 * message, which a handler may pass on to its client).
 */
export function publishFailed(cause: Error, message = NODE_PUBLISH_FAILED): RoomcastError {
  const error = new RoomcastError(ErrorCode.PublishFailed, message)
  error.cause = cause
  return error
}
