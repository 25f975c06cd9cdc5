import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Pusher from 'pusher'
import type { PusherAppConfig } from '../../plugin/index.js'
import { MASTER_KEY, type PusherServer } from './pusher.js'

/**
 * The `roomcast` command as a deployment runs it: `node dist/plugin/cli/main.js` in a child
 * process, its structured (pino JSON) log read from stdout. CI builds before testing; a
 * checkout without a build gets one here.
 */

const root = fileURLToPath(new URL('../../', import.meta.url))
export const CLI = join(root, 'dist/plugin/cli/main.js')

export function ensureBuilt(): void {
  if (existsSync(CLI)) return
  const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' })
  if (build.status !== 0) throw new Error(`npm run build failed (${build.status})`)
}

/** The environment without any ROOMCAST_* or SOKETI_* variable of the machine running the tests. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('ROOMCAST_') && !name.startsWith('SOKETI_')) env[name] = value
  return { ...env, ...extra }
}

/** A JSON config file in a temporary folder of its own; `remove()` deletes both. */
export function configFile(config: unknown): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'roomcast-cli-'))
  const path = join(dir, 'config.json')
  writeFileSync(path, JSON.stringify(config))
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

export interface LogLine {
  level: number
  msg: string
  [key: string]: unknown
}

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

export class CliProcess {
  readonly child: ChildProcess
  readonly logs: LogLine[] = []
  stdout = ''
  stderr = ''
  readonly exited: Promise<Exit>
  #waiters: Array<{ match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }> = []

  /** `nodeArgs` go to node itself, before the script (`--import` hooks). */
  constructor(args: string[], env: NodeJS.ProcessEnv, nodeArgs: string[] = []) {
    this.child = spawn(process.execPath, [...nodeArgs, CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let pending = ''
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString()
      pending += chunk.toString()
      const lines = pending.split('\n')
      pending = lines.pop()!
      for (const text of lines) this.#line(text)
    })
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()))
    // 'close', not 'exit': it comes once stdout and stderr are read to their end, so every log line is in.
    this.exited = new Promise((resolve) => this.child.once('close', (code, signal) => resolve({ code, signal })))
  }

  #line(text: string): void {
    let line: LogLine
    try {
      line = JSON.parse(text) as LogLine
    } catch {
      return
    }
    this.logs.push(line)
    for (const waiter of [...this.#waiters]) {
      if (!waiter.match(line)) continue
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1)
      waiter.resolve(line)
    }
  }

  /** The first log line (past or future) that matches; rejects if the process exits first. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs = 15_000): Promise<LogLine> {
    const seen = this.logs.find(match)
    if (seen !== undefined) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching log line within ${timeoutMs} ms:\n${this.stdout}\n${this.stderr}`)), timeoutMs)
      void this.exited.then((exit) => {
        clearTimeout(timer)
        reject(new Error(`roomcast exited (${exit.code ?? exit.signal}) first:\n${this.stdout}\n${this.stderr}`))
      })
      this.#waiters.push({
        match,
        resolve: (line) => {
          clearTimeout(timer)
          resolve(line)
        },
      })
    })
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal)
  }
}

/** A started server: its process and what its "listening" line said. */
export interface RunningCli {
  cli: CliProcess
  url: string
  port: number
  metricsUrl: string | undefined
}

/** Runs `roomcast start ...args` and resolves once it logs "roomcast: listening". */
export async function startCli(args: string[], env: NodeJS.ProcessEnv): Promise<RunningCli> {
  const cli = new CliProcess(['start', ...args], env)
  try {
    const listening = await cli.waitForLog((line) => line.msg === 'roomcast: listening')
    const url = listening.url as string
    return { cli, url, port: Number(new URL(url).port), metricsUrl: listening.metricsUrl as string | undefined }
  } catch (err) {
    cli.kill()
    throw err
  }
}

/** What pusher-js and the `pusher` SDK need to reach a standalone server with one of its apps. */
export function standalonePusher(port: number, app: PusherAppConfig): Pick<PusherServer, 'port' | 'sdk'> {
  return {
    port,
    sdk: (config = app) =>
      new Pusher({ appId: config.id, key: config.key, secret: config.secret, host: '127.0.0.1', port: String(port), encryptionMasterKeyBase64: MASTER_KEY }),
  }
}
