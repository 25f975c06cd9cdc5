import { ErrorCode } from '../../shared/codes.js'
import type { HistoryReply, HistoryRequest, JoinRequest, StreamPosition, StreamState } from '../../shared/envelope.js'
import { RoomcastError } from '../../shared/errors.js'
import type { Connection } from '../hub/connection.js'
import type { Delivery } from '../hub/delivery.js'
import { PreparedFrame } from '../hub/frame.js'
import type { HistoryPage, HistoryPolicy, StoredPublication } from '../hub/history.js'
import type { Hub } from '../hub/hub.js'

/** Most publications one `history` request returns when it names no `limit`. */
const DEFAULT_HISTORY_LIMIT = 100

/**
 * The history side of a join, in two steps. Now, before the connection enters its rooms: each
 * new room with history holds its live publications back, so that nothing published after the
 * join can slip past the stream read below. Then, once joined (the function returned): reads
 * each stream, replays what the join asked for (`recover`, `rewind`) and answers each room's
 * `StreamState`. The holds are released by `releases`, run right after the join's ack is
 * written: the held publications the replay did not contain follow it, in order. Undefined
 * when none of the rooms keeps history.
 */
export function openStreams(
  hub: Hub,
  connection: Connection,
  request: JoinRequest,
  adding: readonly string[],
  releases: Array<() => void>,
): ((joined: readonly string[]) => Promise<Record<string, StreamState> | undefined>) | undefined {
  const recover = request.recover
  const opened = new Map<string, HistoryPolicy>()
  /** What each room's ack says was sent last; held publications after it follow the ack. */
  const sent = new Map<string, StreamPosition>()
  for (const room of adding) {
    const policy = hub.historyPolicy(room)
    if (policy === undefined || !connection.hold(room)) continue
    opened.set(room, policy)
    releases.push(() => {
      const position = sent.get(room)
      if (position === undefined) connection.discardHeld(room)
      else connection.release(room, position)
    })
  }
  const asked = recover === undefined ? [] : adding.filter((room) => Object.hasOwn(recover, room) && !opened.has(room))
  if (opened.size === 0 && asked.length === 0) return undefined
  return async (joined) => {
    const states: Record<string, StreamState> = Object.create(null)
    // Asked to recover a room that keeps none: nothing to replay, and the client should know why.
    for (const room of asked) if (joined.includes(room)) states[room] = { epoch: '', offset: 0, recovered: false, reason: 'no_history' }
    const rooms = [...opened].filter(([room]) => joined.includes(room))
    try {
      await Promise.all(
        rooms.map(async ([room, policy]) => {
          const state = await openStream(hub, connection, room, policy, recover?.[room], request.rewind)
          states[room] = state
          sent.set(room, { epoch: state.epoch, offset: state.offset })
        }),
      )
    } catch (err) {
      // A stream that cannot be read (its store is away) would leave the client unable to tell
      // what it missed: the join is undone rather than half done.
      hub.leave(connection, adding)
      const error = new RoomcastError(ErrorCode.Internal, 'the history of a room could not be read; the join was undone')
      error.cause = err
      throw error
    }
    return Object.keys(states).length === 0 ? undefined : { ...states }
  }
}

/** Reads one newly joined room's stream and replays what the join asked for. */
async function openStream(
  hub: Hub,
  connection: Connection,
  room: string,
  policy: HistoryPolicy,
  recover: StreamPosition | undefined,
  rewind: number | undefined,
): Promise<StreamState> {
  const store = hub.adapter.history!
  if (recover !== undefined) {
    const page = await store.read(room, { after: recover.offset, limit: policy.size }, policy)
    const { epoch, offset } = page.position
    if (epoch !== recover.epoch || recover.offset > offset)
      return { epoch, offset: sentBefore(connection, room, page), recovered: false, reason: 'epoch_changed', replayed: 0 }
    if (page.oldest > recover.offset + 1) return { epoch, offset: sentBefore(connection, room, page), recovered: false, reason: 'too_far_behind', replayed: 0 }
    replay(connection, room, epoch, page.publications)
    return { epoch, offset, recovered: true, replayed: page.publications.length }
  }
  if (rewind !== undefined) {
    let page = await store.read(room, { limit: rewind, reverse: true }, policy)
    const { epoch, offset } = page.position
    let publications = page.publications.reverse()
    // Publications that arrived since the join are held; they must all be in the replay (or
    // after it), so the replay reaches back to the first of them when `rewind` does not.
    const firstHeld = connection.firstHeld(room, epoch)
    if (firstHeld !== undefined && firstHeld <= offset - publications.length) {
      page = await store.read(room, { after: firstHeld - 1, limit: policy.size }, policy)
      publications = page.position.epoch === epoch ? page.publications.filter((publication) => publication.offset <= offset) : []
    }
    replay(connection, room, epoch, publications)
    return { epoch, offset, replayed: publications.length }
  }
  const page = await store.read(room, { limit: 1, reverse: true }, policy)
  return { epoch: page.position.epoch, offset: sentBefore(connection, room, page) }
}

/**
 * Where a join that replays nothing leaves the client: just before the first publication held
 * since the join (they all follow the ack), else at the stream's current position.
 */
function sentBefore(connection: Connection, room: string, page: HistoryPage): number {
  const firstHeld = connection.firstHeld(room, page.position.epoch)
  return firstHeld === undefined ? page.position.offset : Math.min(firstHeld - 1, page.position.offset)
}

/** Writes stored publications as room deliveries, through the connection's own path (encrypted ones seal each). */
function replay(connection: Connection, room: string, epoch: string, publications: readonly StoredPublication[]): void {
  for (const publication of publications) {
    const position: StreamPosition = { epoch, offset: publication.offset }
    const delivery: Delivery = { target: { kind: 'rooms', rooms: [room] }, event: publication.event, position }
    if (publication.data !== undefined) delivery.data = publication.data
    connection.writeReplayed(new PreparedFrame(connection.codec.encode(delivery, room), room, position))
  }
}

/**
 * A `history` read, as the native request and the server API answer it; undefined when the
 * room keeps no history. `complete` is false when `since` is in another epoch or before the
 * oldest publication still kept (then the publications start at the oldest kept).
 */
export async function readHistory(hub: Hub, room: string, query: Omit<HistoryRequest, 'room'>): Promise<HistoryReply | undefined> {
  const policy = hub.historyPolicy(room)
  if (policy === undefined) return undefined
  const store = hub.adapter.history!
  const limit = query.limit ?? DEFAULT_HISTORY_LIMIT
  const since = query.since
  let page = await store.read(room, since === undefined ? { limit, reverse: query.reverse } : { after: since.offset, limit, reverse: query.reverse }, policy)
  let complete = true
  if (since !== undefined) {
    if (page.position.epoch !== since.epoch || since.offset > page.position.offset) {
      complete = false
      page = await store.read(room, { limit, reverse: query.reverse }, policy)
    } else if (page.oldest > since.offset + 1) {
      complete = false
    }
  }
  return {
    epoch: page.position.epoch,
    offset: page.position.offset,
    publications: page.publications.map(({ offset, event, data }) =>
      data === undefined ? { offset, event } : { offset, event, data: JSON.parse(data) as unknown },
    ),
    complete,
  }
}
