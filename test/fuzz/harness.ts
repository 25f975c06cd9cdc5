/**
 * What the fuzz tests share: the server process (restarted after a crash, which is counted),
 * the number of runs (`FUZZ_RUNS`, small in `npm test`, 100 000 in `npm run fuzz`), per-endpoint
 * counts, and the observers that must keep receiving while the fuzzing goes on.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import WebSocket from 'ws'
import { FUZZ_APP } from './limits.js'

/** Cases per endpoint. */
export const RUNS = Number(process.env.FUZZ_RUNS ?? 300)
/** Fixed with FUZZ_SEED to replay a run; printed either way. */
export const SEED = process.env.FUZZ_SEED === undefined ? Date.now() ^ (Math.random() * 0x7fffffff) : Number(process.env.FUZZ_SEED)
/** How often (in cases) the observers must prove they still receive. */
export const BEACON_EVERY = 250

const serverFile = fileURLToPath(new URL('./fixtures/server.ts', import.meta.url))

export class FuzzServer {
  port = 0
  crashes = 0
  #child: ChildProcess | undefined
  #stderr = ''
  /** Set when the process exits without being asked to. */
  #onCrash: (() => void) | undefined
  #exited: Promise<void> = Promise.resolve()

  async start(): Promise<void> {
    // The same TypeScript loader as this test; --expose-gc for the heap check.
    const child = spawn(process.execPath, [...process.execArgv, '--expose-gc', serverFile], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.#child = child
    this.#stderr = ''
    child.stderr!.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-4000)
    })
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()))
    child.once('exit', () => {
      if (this.#child !== child) return
      this.#child = undefined
      this.crashes++
      this.#onCrash?.()
    })
    this.port = await new Promise<number>((resolve, reject) => {
      let out = ''
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString()
        const line = out.split('\n')[0]!
        if (out.includes('\n')) resolve((JSON.parse(line) as { port: number }).port)
      })
      child.once('exit', (code) => reject(new Error(`the fuzz server exited with ${code} before listening: ${this.#stderr}`)))
    })
  }

  /** Resolves once the current process has exited. */
  whenExited(): Promise<void> {
    return this.#exited
  }

  get alive(): boolean {
    return this.#child !== undefined
  }

  /** The last lines the server wrote to stderr (a crash's stack). */
  get stderr(): string {
    return this.#stderr
  }

  onCrash(listener: () => void): void {
    this.#onCrash = listener
  }

  async stop(): Promise<void> {
    const child = this.#child
    this.#child = undefined
    if (child === undefined) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }

  async heapUsed(): Promise<number> {
    const response = await fetch(`http://127.0.0.1:${this.port}/fuzz/heap`)
    return ((await response.json()) as { heapUsed: number }).heapUsed
  }

  async beacon(n: number): Promise<void> {
    const response = await fetch(`http://127.0.0.1:${this.port}/fuzz/beacon?n=${n}`)
    if (response.status !== 200) throw new Error(`beacon answered ${response.status}`)
  }
}

/** Counts per endpoint, and the first few inputs that got an unexpected answer. */
export class FuzzStats {
  readonly endpoint: string
  tried = 0
  unexpected = 0
  readonly byAnswer = new Map<string, number>()
  readonly examples: string[] = []

  constructor(endpoint: string) {
    this.endpoint = endpoint
  }

  answered(kind: string, answer: string, ok: boolean, input: string): void {
    this.tried++
    const key = `${kind} -> ${answer}`
    this.byAnswer.set(key, (this.byAnswer.get(key) ?? 0) + 1)
    if (ok) return
    this.unexpected++
    if (this.examples.length < 5) this.examples.push(`${key}: ${input.slice(0, 300)}`)
  }

  summary(crashes: number, heapGrowth: number): string {
    const answers = [...this.byAnswer].sort((a, b) => b[1] - a[1]).map(([key, count]) => `    ${count}\t${key}`)
    return (
      [
        `fuzz ${this.endpoint}: ${this.tried} cases tried, ${crashes} crashes, ${this.unexpected} unexpected answers, heap growth ${(heapGrowth / 1048576).toFixed(1)} MiB (seed ${SEED})`,
        ...answers,
        ...this.examples.map((example) => `    unexpected: ${example}`),
      ]
        .join('\n')
        // Plain ASCII: a stray U+2028 or control character would break the TAP stream.
        .replace(/[^\x20-\x7e\n\t]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    )
  }
}

/** Generated inputs, one after another, from the run's seed. */
export function* samples<T>(arbitrary: fc.Arbitrary<T>, runs: number, salt: number): Generator<T> {
  const batch = 1000
  for (let done = 0; done < runs; done += batch) {
    yield* fc.sample(arbitrary, { numRuns: Math.min(batch, runs - done), seed: SEED + salt + done })
  }
}

/** A socket that records what arrives, for the observers. */
export class Observer {
  readonly ws: WebSocket
  readonly beacons = new Set<number>()
  #waiting: { n: number; resolve: () => void } | undefined

  constructor(url: string, beaconOf: (text: string) => number | undefined) {
    this.ws = new WebSocket(url)
    this.ws.on('error', () => {})
    this.ws.on('message', (raw) => {
      const n = beaconOf(raw.toString())
      if (n === undefined) return
      this.beacons.add(n)
      if (this.#waiting?.n === n) this.#waiting.resolve()
    })
  }

  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve())
      this.ws.once('error', reject)
    })
  }

  /** Resolves when beacon `n` arrived; rejects after `timeoutMs`. */
  received(n: number, timeoutMs = 5000): Promise<void> {
    if (this.beacons.has(n)) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`beacon ${n} did not arrive`)), timeoutMs)
      this.#waiting = {
        n,
        resolve: () => {
          clearTimeout(timer)
          resolve()
        },
      }
    })
  }

  close(): void {
    this.ws.terminate()
  }
}

/** Observers on both protocols, subscribed to `watch`: they must receive every beacon. */
export async function observers(port: number): Promise<Observer[]> {
  const native = new Observer(`ws://127.0.0.1:${port}/ws`, (text) => {
    const frame = JSON.parse(text) as { event: string; data?: { n?: number } }
    return frame.event === 'beacon' ? frame.data?.n : undefined
  })
  const pusher = new Observer(`ws://127.0.0.1:${port}/app/${FUZZ_APP.key}?protocol=7`, (text) => {
    const frame = JSON.parse(text) as { event: string; data?: string }
    return frame.event === 'beacon' ? (JSON.parse(frame.data!) as { n: number }).n : undefined
  })
  await Promise.all([native.opened(), pusher.opened()])
  // Idle for minutes in a long run: they answer the server's liveness checks like real clients.
  native.ws.on('message', (raw) => raw.toString().startsWith('{"event":"heartbeat"') && native.ws.send('{"event":"heartbeat"}'))
  pusher.ws.on('message', (raw) => raw.toString().startsWith('{"event":"pusher:ping"') && pusher.ws.send('{"event":"pusher:pong","data":{}}'))
  const joined = new Promise<void>((resolve) => native.ws.on('message', (raw) => raw.toString().includes('"ack"') && resolve()))
  native.ws.send(JSON.stringify({ event: 'join', id: 1, data: { rooms: ['watch'] } }))
  const subscribed = new Promise<void>((resolve) => pusher.ws.on('message', (raw) => raw.toString().includes('subscription_succeeded') && resolve()))
  pusher.ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'watch' } }))
  await Promise.all([joined, subscribed])
  return [native, pusher]
}

/** The observers got a fresh beacon: the server still delivers to clients that did nothing wrong. */
export async function checkObservers(server: FuzzServer, watching: Observer[], n: number): Promise<void> {
  await server.beacon(n)
  await Promise.all(watching.map((observer) => observer.received(n)))
}
