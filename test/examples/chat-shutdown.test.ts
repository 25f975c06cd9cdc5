import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { RawClient } from '../helpers/server.js'

const root = fileURLToPath(new URL('../../', import.meta.url))

/** Starts an npm command in the package root. */
function npm(args: string[], options: { env?: NodeJS.ProcessEnv; detached?: boolean } = {}): ChildProcess {
  return spawn('npm', args, { cwd: root, env: { ...process.env, ...options.env }, detached: options.detached ?? false, stdio: ['ignore', 'pipe', 'pipe'] })
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode })
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
}

/** The URL the example prints once it listens. */
function listeningUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const match = /open (http:\/\/\S+) in two browser windows/.exec(output)
      if (match !== null) resolve(match[1]!)
    })
    child.once('exit', (code) => reject(new Error(`the example exited (${code}) before listening: ${output}`)))
  })
}

// `npm start` is `prestart` (the build) and then the built example. CI builds before testing; a
// checkout without a build gets one here. `--ignore-scripts` skips only `prestart`.
t.before(async () => {
  if (existsSync(`${root}dist/examples/chat/server.js`) && existsSync(`${root}dist/browser/roomcast-client.js`)) return
  const build = npm(['run', 'build', '--silent'])
  build.stderr!.pipe(process.stderr)
  const { code } = await exited(build)
  if (code !== 0) throw new Error(`npm run build failed (${code})`)
})

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`npm start, then ${signal} to npm: clients are closed with 1001 and the example exits 0`, async (t) => {
    // Its own process group, so that teardown can reach the example even if npm did not pass the signal on.
    const child = npm(['start', '--silent', '--ignore-scripts'], { env: { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' }, detached: true })
    t.teardown(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {
        // already gone
      }
    })
    const url = await listeningUrl(child)
    const client = await RawClient.open(`${url.replace(/^http/, 'ws')}/ws`)
    t.teardown(() => client.close())
    t.equal((await client.request('authenticate', { name: 'ann' })).event, 'connected')

    child.kill(signal)
    t.same(await client.whenClosed(20_000), { code: 1001, reason: 'server shutting down' }, 'the client sees 1001, not 1006')
    t.same(await exited(child), { code: 0, signal: null }, 'npm and the example exit 0')
  })
}
