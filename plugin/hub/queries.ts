import type { Target } from './delivery.js'

/**
 * Questions and actions that span the cluster. Each node answers for its own connections
 * (`Hub.answer`); the adapter gathers the answers and `mergeAnswers` folds them.
 * All answers are plain JSON so they can cross a bus.
 */
export type Query =
  | { type: 'roomMembers'; room: string }
  | { type: 'roomSize'; room: string }
  | { type: 'userConnections'; userId: string }
  | { type: 'rooms' }
  /** Sizes of the rooms whose names start with `prefix`, one round trip for a whole listing. */
  | { type: 'roomSizes'; prefix: string }
  | { type: 'connectionCount' }
  | { type: 'nodes' }
  /** `protocol`: only connections of that protocol join or leave (the native API's rooms are native). */
  | { type: 'join'; target: Target; rooms: string[]; protocol?: string }
  | { type: 'leave'; target: Target; rooms: string[]; protocol?: string }
  | { type: 'disconnect'; target: Target; code: number; reason: string }

export interface RoomMember {
  connectionId: string
  userId: string | undefined
  /** What the connection's protocol attached to this membership (Pusher presence: `{ user_id, user_info }`); JSON. */
  info?: unknown
}

export interface NodeInfo {
  nodeId: string
  connections: number
  rooms: number
}

export interface QueryResults {
  roomMembers: RoomMember[]
  roomSize: number
  userConnections: string[]
  rooms: string[]
  /** Room name → connections in it, summed over nodes; empty rooms are absent. */
  roomSizes: Record<string, number>
  connectionCount: number
  nodes: NodeInfo[]
  /** Actions answer with how many connections they affected. */
  join: number
  leave: number
  disconnect: number
}

export type QueryResult<Q extends Query> = QueryResults[Q['type']]

/** A cluster-wide answer: the merged value, and which nodes did not answer in time. */
export interface ClusterAnswer<T> {
  value: T
  /** Nodes whose answers are in `value`, this one included. */
  answered: string[]
  /** Nodes that were expected but did not answer within the timeout. */
  missing: string[]
}

export function mergeAnswers<Q extends Query>(query: Q, parts: QueryResult<Q>[]): QueryResult<Q> {
  switch (query.type) {
    case 'roomSize':
    case 'connectionCount':
    case 'join':
    case 'leave':
    case 'disconnect':
      return (parts as number[]).reduce((sum, n) => sum + n, 0) as QueryResult<Q>
    case 'rooms':
      return [...new Set((parts as string[][]).flat())] as QueryResult<Q>
    case 'roomSizes': {
      const sizes: Record<string, number> = Object.create(null)
      for (const part of parts as Array<Record<string, number>>) for (const room in part) sizes[room] = (sizes[room] ?? 0) + part[room]!
      return sizes as QueryResult<Q>
    }
    case 'userConnections':
      return (parts as string[][]).flat() as QueryResult<Q>
    case 'roomMembers':
      return (parts as RoomMember[][]).flat() as QueryResult<Q>
    case 'nodes':
      return (parts as NodeInfo[][]).flat() as QueryResult<Q>
  }
}
