import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis'
import { redisAdapter, type RedisAdapter, type RedisClient, type RoomcastOptions } from '../../plugin/index.js'
import { startServer } from './server.js'

/**
 * Real Redis servers for tests: each test spawns its own `redis-server` on a random free port
 * (never the machine's 6379), without persistence, and stops it. A process-exit hook kills any
 * left behind so a failed test cannot leak servers.
 */

const running = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

/** A key prefix of its own, so test files (and tests) sharing a Redis never see each other. */
export function uniquePrefix(name: string): string {
  return `${name}-${randomUUID().slice(0, 8)}`
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** A free port (and, for cluster nodes, a free bus port at +10000). */
export async function freePort(withBusPort = false): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000)
    if (!(await portIsFree(port))) continue
    if (withBusPort && !(await portIsFree(port + 10_000))) continue
    return port
  }
  throw new Error('no free port found')
}

/** Spawns `redis-server` and resolves once it accepts connections. */
function spawnRedis(port: number, extra: string[] = []): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  running.add(child)
  child.once('exit', () => running.delete(child))
  return new Promise((resolve, reject) => {
    let output = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`redis-server on ${port} did not start: ${output}`))
    }, 10_000)
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer)
        child.stdout!.removeAllListeners('data')
        child.stdout!.resume()
        resolve(child)
      }
    })
    child.stderr!.resume()
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`redis-server on ${port} exited with ${code}: ${output}`))
    })
  })
}

function killProcess(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGKILL')
  })
}

export interface RedisServer {
  port: number
  /**
   * A client of this server, closed by `stop()`. Fast reconnects, for outage tests, and a short
   * disconnect timeout (ioredis arms it even for a socket that is already gone).
   */
  client(options?: RedisOptions): Redis
  /** Kills the server abruptly (SIGKILL), as a crash would. */
  kill(): Promise<void>
  /** Starts it again on the same port (empty: no persistence). */
  restart(): Promise<void>
  /** Kills it and closes the clients made by `client()`. */
  stop(): Promise<void>
}

/** Starts a server on a random free port, or on `port` (to bring up a Redis that nodes already wait for). */
export async function startRedis(fixedPort?: number): Promise<RedisServer> {
  const port = fixedPort ?? (await freePort())
  let child: ChildProcess | undefined = await spawnRedis(port)
  const clients: Redis[] = []
  return {
    port,
    client(options?: RedisOptions): Redis {
      const client = new Redis({ host: '127.0.0.1', port, retryStrategy: () => 50, disconnectTimeout: 100, ...options })
      client.on('error', () => {})
      clients.push(client)
      return client
    },
    async kill() {
      await killProcess(child)
      child = undefined
    },
    async restart() {
      if (child !== undefined) throw new Error('redis-server is still running')
      child = await spawnRedis(port)
    },
    async stop() {
      for (const client of clients) client.disconnect()
      await killProcess(child)
      child = undefined
    },
  }
}

export interface RedisClusterServer {
  ports: number[]
  /** A Cluster client (the caller closes it). */
  client(options?: ClusterOptions): Cluster
  stop(): Promise<void>
}

/** Three master nodes, `--cluster-enabled yes`, joined with `redis-cli --cluster create`. */
export async function startRedisCluster(): Promise<RedisClusterServer> {
  const dir = mkdtempSync(join(tmpdir(), 'roomcast-cluster-'))
  const ports: number[] = []
  const children: ChildProcess[] = []
  const clients: Cluster[] = []
  const stop = async (): Promise<void> => {
    for (const client of clients) client.disconnect()
    await Promise.all(children.map((child) => killProcess(child)))
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    for (let i = 0; i < 3; i++) {
      const port = await freePort(true)
      ports.push(port)
      children.push(
        await spawnRedis(port, [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          '5000',
          '--dir',
          dir,
        ]),
      )
    }
    const created = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'], {
      encoding: 'utf8',
      timeout: 20_000,
    })
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout} ${created.stderr}`)
    await waitForClusterOk(ports)
  } catch (err) {
    await stop()
    throw err
  }
  return {
    ports,
    client(options?: ClusterOptions): Cluster {
      const client = new Cluster(
        ports.map((port) => ({ host: '127.0.0.1', port })),
        options,
      )
      client.on('error', () => {})
      clients.push(client)
      return client
    },
    stop,
  }
}

async function waitForClusterOk(ports: number[]): Promise<void> {
  const deadline = Date.now() + 15_000
  for (const port of ports) {
    const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true })
    client.on('error', () => {})
    try {
      await client.connect()
      for (;;) {
        const info = String(await client.cluster('INFO'))
        if (info.includes('cluster_state:ok')) break
        if (Date.now() > deadline) throw new Error(`cluster node ${port} is not ok: ${info}`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    } finally {
      client.disconnect()
    }
  }
}

export interface TestNode {
  app: FastifyInstance
  url: string
  adapter: RedisAdapter
  nodeId: string
}

export interface TestNodeOptions {
  redis: RedisClient
  keyPrefix: string
  nodeId: string
  heartbeatInterval?: number
  requestTimeout?: number
  connectTimeout?: number
  roomcast?: RoomcastOptions
}

/** Clients authenticate in-band with `{ user }` and become that user. */
const byName = { authenticate: (data: unknown) => ({ userId: (data as { user: string }).user }) }

/** A Fastify node with the plugin and a Redis adapter of its own. */
export async function startNode(options: TestNodeOptions): Promise<TestNode> {
  const adapter = redisAdapter({
    redis: options.redis,
    keyPrefix: options.keyPrefix,
    heartbeatInterval: options.heartbeatInterval ?? 1_000,
    requestTimeout: options.requestTimeout ?? 2_000,
    connectTimeout: options.connectTimeout ?? 5_000,
  })
  const { app, url } = await startServer({ ...byName, nodeId: options.nodeId, adapter, ...options.roomcast })
  return { app, url, adapter, nodeId: options.nodeId }
}
