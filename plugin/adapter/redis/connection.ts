// Types only, and only inside function bodies: no declaration this module publishes names
// ioredis, so applications without it still type-check roomcast's declarations.
import type { Cluster, Redis } from 'ioredis'
import type { RedisClient } from './client.js'

export type { RedisClient }

/**
 * A connection the adapter opened itself (an ioredis `Redis` or `Cluster`, see
 * duplicateConnection). Replies always use the RESP2-compatible shapes. Typed by what the
 * adapter calls on it; the modules that send commands narrow it further to what they send.
 */
export interface BusConnection extends RedisClient {
  on(event: 'message' | 'smessage', listener: (channel: string, message: string) => void): unknown
  on(event: 'ready', listener: () => void): unknown
  on(event: 'error', listener: (error: Error) => void): unknown
  once(event: 'ready', listener: () => void): unknown
  off(event: 'ready', listener: () => void): unknown
  connect(): Promise<unknown>
  quit(): Promise<unknown>
  disconnect(): void
}

export function isClusterClient(client: RedisClient): boolean {
  return client.isCluster === true
}

/**
 * How long a disconnect waits for the socket to end before destroying it. The client arms this
 * timer even when the socket is already gone (Redis down), so a short one keeps a closed adapter
 * from holding the process open.
 */
const DISCONNECT_TIMEOUT = 200

export type ConnectionRole = 'publisher' | 'subscriber'

/**
 * A connection of the adapter's own, duplicated from the application's client so it inherits
 * addresses, credentials, TLS and Sentinel settings, with the settings the bus depends on:
 * - no offline queue: while Redis is away a publish fails at once instead of piling up in memory;
 * - `maxRetriesPerRequest: 0`: commands in flight when the connection drops fail instead of
 *   waiting for a reconnect that may never come;
 * - no automatic resubscription: the adapter restores exactly the channels it still needs;
 * - no key prefix of the application's: the adapter has its own, and channels are never prefixed;
 * - a short disconnect timeout (see DISCONNECT_TIMEOUT);
 * - sharded subscribers on a Cluster, so SSUBSCRIBE reaches the shard that owns each channel.
 * It starts disconnected (`lazyConnect`); the adapter connects it in `attach`.
 */
export function duplicateConnection(client: RedisClient, role: ConnectionRole): BusConnection {
  const connectionName = role === 'publisher' ? 'roomcast:pub' : 'roomcast:sub'
  // The same settings for a single node and for every node of a cluster.
  const nodeOptions = {
    keyPrefix: '',
    replyMapping: 'legacy',
    maxRetriesPerRequest: 0,
    autoResubscribe: false,
    disconnectTimeout: DISCONNECT_TIMEOUT,
    connectionName,
  } as const
  if (isClusterClient(client)) {
    return (client as unknown as Cluster).duplicate([], {
      lazyConnect: true,
      enableOfflineQueue: false,
      keyPrefix: '',
      shardedSubscribers: role === 'subscriber',
      redisOptions: nodeOptions,
    })
  }
  return (client as unknown as Redis).duplicate({ lazyConnect: true, enableOfflineQueue: false, ...nodeOptions })
}

/** Resolves true once the connection is ready, or false after `timeoutMs` (it keeps trying in the background). */
export function waitUntilReady(connection: BusConnection, timeoutMs: number): Promise<boolean> {
  if (connection.status === 'ready') return Promise.resolve(true)
  return new Promise((resolve) => {
    const onReady = (): void => {
      clearTimeout(timer)
      resolve(true)
    }
    const timer = setTimeout(() => {
      connection.off('ready', onReady)
      resolve(false)
    }, timeoutMs)
    connection.once('ready', onReady)
  })
}

/** Starts connecting; failures surface as `error` events and retries, never as a rejection. */
export function startConnecting(connection: BusConnection): void {
  if (connection.status === 'wait') connection.connect().catch(() => {})
}

/** QUIT when Redis answers quickly, else drop the socket: either way no timer or socket is left behind. */
export async function closeConnection(connection: BusConnection, graceMs = 1_000): Promise<void> {
  if (connection.status === 'ready') {
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      connection.quit().catch(() => {}),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs)
      }),
    ])
    clearTimeout(timer)
  }
  // After QUIT the socket is usually closed already; disconnecting then would only arm a timer.
  if (connection.status !== 'end') connection.disconnect()
}
