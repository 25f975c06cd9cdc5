// The moving parts of one measurement: server processes, load-generator workers, the publisher.
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { openJoined, protocols } from '../load/protocols.mjs'
import { openHttpPublisher } from './pusher-http.mjs'
import { cpuSeconds, nextMessage, request, spawnNode, stop, writeCalls } from './proc.mjs'

const BENCH = fileURLToPath(new URL('..', import.meta.url))
export const PROFILE_DIR = `${BENCH}profiles`

export const SERVER_SCRIPTS = {
  roomcast: `${BENCH}servers/roomcast.mjs`,
  ws: `${BENCH}servers/ws.mjs`,
  socketio: `${BENCH}servers/socketio.mjs`,
  fastify: `${BENCH}servers/fastify.mjs`,
  // The same roomcast server with its Pusher endpoint on; its clients speak the Pusher protocol.
  pusher: `${BENCH}servers/roomcast.mjs`,
  // A bare Fastify POST route with the Pusher API's path: the floor of an HTTP publish (bench/http-floor.mjs).
  'http-floor': `${BENCH}servers/http-floor.mjs`,
}

/** Arguments a kind of server always gets. */
const SERVER_ARGS = { pusher: ['--pusher'] }

/** One bench server process (roomcast, pusher, ws, socketio or fastify). */
export class Server {
  constructor(kind, child, port) {
    this.kind = kind
    this.child = child
    this.port = port
    this.pid = child.pid
    this.protocol = protocols[kind]
  }

  /**
   * Starts a server pinned to `cores`. `profile: 'run'` adds `--cpu-prof` (written to
   * bench/profiles when the process exits); `profile: 'window'` or `'allocations'` lets the case
   * profile just its measured window (`profileWindow`); `args` go to the server script (e.g. `--redis-port`).
   */
  static async start(kind, { cores, profile, args = [] } = {}) {
    const nodeFlags = ['--expose-gc']
    if (profile === 'run') {
      mkdirSync(PROFILE_DIR, { recursive: true })
      nodeFlags.push('--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${kind}-${Date.now()}.cpuprofile`)
    }
    let wrapper = []
    let callgrindOut
    const scriptArgs = [...(SERVER_ARGS[kind] ?? []), ...args]
    if (profile === 'instructions') {
      // V8's compiler and collector threads, finishing at other moments from run to run, would
      // make the count vary: with one thread they do the same work in a repeatable order.
      nodeFlags.push('--single-threaded')
      if (SERVER_SCRIPTS[kind] === SERVER_SCRIPTS.roomcast) scriptArgs.push('--timers', 'slow')
      mkdirSync(PROFILE_DIR, { recursive: true })
      callgrindOut = `${PROFILE_DIR}/${kind}-${Date.now()}.callgrind`
      // Instrumented only inside measured windows (`countInstructions`); until then node runs at
      // near full speed. JIT code lives in anonymous memory that V8 rewrites: valgrind must watch
      // it for changes (--smc-check).
      wrapper = ['valgrind', '--tool=callgrind', '--instr-atstart=no', '--smc-check=all-non-file', '--quiet', `--callgrind-out-file=${callgrindOut}`]
    }
    const child = spawnNode([SERVER_SCRIPTS[kind], '--port', '0', ...scriptArgs], { cores, nodeFlags, wrapper })
    // Under valgrind, starting takes tens of seconds.
    const ready = await nextMessage(child, 'ready', undefined, profile === 'instructions' ? 300_000 : 30_000)
    const server = new Server(kind, child, ready.port)
    server.profile = profile
    server.callgrindOut = callgrindOut
    return server
  }

  /**
   * Runs `measure()`; with `profile: 'window'` under a CPU profile of this server, written to
   * bench/profiles/<kind>-<label>-window-<time>.cpuprofile, with `profile: 'allocations'` under
   * an allocation profile (<kind>-<label>-allocations-<time>.heapprofile).
   */
  async profileWindow(label, measure) {
    if (this.profile !== 'window' && this.profile !== 'allocations') return measure()
    const [kind, name] = this.profile === 'window' ? ['cpu', 'window'] : ['allocations', 'allocations']
    mkdirSync(PROFILE_DIR, { recursive: true })
    await request(this.child, { type: 'profile-start', kind })
    try {
      return await measure()
    } finally {
      const extension = kind === 'cpu' ? 'cpuprofile' : 'heapprofile'
      await request(this.child, { type: 'profile-stop', file: `${PROFILE_DIR}/${this.kind}-${label}-${name}-${Date.now()}.${extension}` })
    }
  }

  /**
   * Runs `measure()`; with `profile: 'instructions'`, with callgrind counting this server's
   * instructions (user space only, the kernel's work is not counted), added to `instructions`.
   * Unlike CPU time, the count is the same from run to run whatever else the machine is doing.
   * Wrap only this server's own work: under valgrind, time stretches tenfold and more.
   */
  async countInstructions(measure) {
    if (this.profile !== 'instructions') return measure()
    const control = (flag) => execFileSync('callgrind_control', [flag, String(this.pid)], { stdio: 'ignore' })
    control('--instr=on')
    control('--zero')
    let result
    try {
      result = await measure()
    } finally {
      control('--dump')
      control('--instr=off')
    }
    // Each dump is the next numbered file beside the output file, holding the counts since --zero.
    this.dumps = (this.dumps ?? 0) + 1
    const totals = /^totals: (\d+)$/m.exec(readFileSync(`${this.callgrindOut}.${this.dumps}`, 'utf8'))
    if (totals === null) throw new Error(`no totals in callgrind dump ${this.callgrindOut}.${this.dumps}`)
    this.instructions = (this.instructions ?? 0) + Number(totals[1])
    return result
  }

  cpu() {
    return cpuSeconds(this.pid)
  }

  /** write(2)/writev(2) calls the server has made so far (its sends to sockets, mostly). */
  writes() {
    return writeCalls(this.pid)
  }

  /** Forces full collections in the server and returns its memory usage after them. */
  async gc() {
    return (await request(this.child, { type: 'gc' })).memory
  }

  async stop() {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      // A profiled server writes its profile on a normal exit, which `stop` asks for.
      await stop(this.child)
    }
  }
}

/** Runs `measure()` under every server's `profileWindow` (a no-op unless profiling windows). */
export async function profileWindows(servers, label, measure) {
  const run = servers.reduceRight((inner, server) => () => server.profileWindow(label, inner), measure)
  return run()
}

/** The load generator: `count` worker processes pinned to the generator's cores. */
export class Generator {
  constructor(workers) {
    this.workers = workers
    this.pids = workers.map((worker) => worker.pid)
    this.listeners = new Set()
    for (const worker of workers) {
      worker.on('message', (message) => {
        if (message.type === 'done') for (const listener of this.listeners) listener(worker, message.batch)
      })
    }
  }

  static async start(count, cores) {
    const workers = []
    for (let i = 0; i < count; i++) {
      const child = spawnNode([`${BENCH}load/worker.mjs`], { cores })
      workers.push(child)
    }
    await Promise.all(workers.map((child) => nextMessage(child, 'ready', undefined, 30_000)))
    return new Generator(workers)
  }

  cpu() {
    return this.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0)
  }

  /**
   * Connects `count` sockets of `kind` to `port`, split evenly over the workers, each joined to
   * `room`, all in `group` (the sockets one message goes to). `concurrency` is the number of
   * handshakes in flight per worker. Returns the merged
   * per-connection times (ms, connect → joined) and the wall-clock span in µs.
   */
  async connect(kind, port, count, room, { concurrency = 50, user = 'user', group = 'default' } = {}) {
    const shares = this.workers.map((_, i) => Math.floor(count / this.workers.length) + (i < count % this.workers.length ? 1 : 0))
    const replies = await Promise.all(
      this.workers.map((worker, i) =>
        shares[i] === 0
          ? { opened: 0, failed: 0, times: [], startedAt: Infinity, endedAt: -Infinity }
          : request(worker, { type: 'connect', protocol: kind, port, count: shares[i], room, user: `${user}-w${i}`, concurrency, group }, 600_000),
      ),
    )
    const failed = replies.reduce((sum, reply) => sum + reply.failed, 0)
    return {
      opened: replies.reduce((sum, reply) => sum + reply.opened, 0),
      failed,
      firstError: replies.find((reply) => reply.firstError !== undefined)?.firstError,
      times: replies.flatMap((reply) => reply.times),
      startedAt: Math.min(...replies.map((reply) => reply.startedAt)),
      endedAt: Math.max(...replies.map((reply) => reply.endedAt)),
      shares,
    }
  }

  async deliveries() {
    const replies = await Promise.all(this.workers.map((worker) => request(worker, { type: 'counts' })))
    return replies.reduce((sum, reply) => sum + reply.deliveries, 0)
  }

  /** `listener(worker, [[seq, sent, first, last], …])` for every worker's completion batch. */
  onDone(listener) {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  async closeSockets() {
    await Promise.all(this.workers.map((worker) => request(worker, { type: 'close' }, 120_000)))
  }

  async stop() {
    await Promise.all(this.workers.map((worker) => stop(worker)))
  }
}

/**
 * A publishing client in the runner process: authenticated like the others, in a room of its own.
 * A Pusher server is published to through its signed HTTP API (`via: 'http'`, the default), or
 * by a client event from a socket subscribed to `room` itself (`via: 'client-event'`).
 */
export async function openPublisher(kind, port, { via = 'http', room } = {}) {
  if (kind === 'pusher' && via === 'http') return openHttpPublisher(port)
  const protocol = protocols[kind]
  const socket = await openJoined(protocol, port, 'publisher', kind === 'pusher' ? room : 'publishers')
  socket.on('message', (data) => protocol.keepAlive(socket, data))
  return {
    send: (room, message) => socket.send(protocol.publish(room, message)),
    close: () => socket.terminate(),
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
