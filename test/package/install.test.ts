import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'

/**
 * The package as an application gets it: `npm pack` of this checkout, installed into a new
 * application next to its own Fastify (without ioredis), a typed server and a typed Node client
 * compiled there with `tsc --strict`, then run against each other. Offline: the application's
 * lockfile is cut from this repository's, so every tarball comes from the local npm cache.
 */

const root = fileURLToPath(new URL('../../', import.meta.url))
const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Manifest
const rootLock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as Lockfile

interface Manifest {
  version: string
  bin?: Record<string, string>
  dependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  peerDependenciesMeta?: Record<string, { optional?: boolean }>
  overrides?: Record<string, string>
}
interface LockEntry extends Manifest {
  resolved?: string
  integrity?: string
  dev?: boolean
  devOptional?: boolean
  peer?: boolean
  optional?: boolean
  [key: string]: unknown
}
interface Lockfile {
  packages: Record<string, LockEntry>
}

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

function run(command: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, npm_config_update_notifier: 'false' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.once('error', reject)
    child.once('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

/** The version this repository installed, so that its tarball is in the local cache. */
function installedVersion(name: string): string {
  const entry = rootLock.packages[`node_modules/${name}`]
  if (entry === undefined) throw new Error(`${name} is not in package-lock.json`)
  return entry.version
}

/**
 * Where Node would find `name` from the package at `from`, in this repository's tree: its own
 * node_modules, then each enclosing one up to the top.
 */
function resolveInLock(from: string, name: string): string | undefined {
  let base = from
  for (;;) {
    const candidate = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`
    if (rootLock.packages[candidate] !== undefined) return candidate
    if (base === '') return undefined
    const at = base.lastIndexOf('/node_modules/')
    base = at === -1 ? '' : base.slice(0, at)
  }
}

/**
 * A lockfile for the application: the packages reachable from its dependencies in this
 * repository's lockfile, at the same paths (a hoisted subtree stays a valid tree), plus the
 * tarball. Only what the application declares is kept: roomcast's optional peer ioredis is not.
 */
function applicationLock(manifest: { name: string; dependencies: Record<string, string>; devDependencies: Record<string, string> }, tarball: string) {
  const packages: Record<string, LockEntry> = {
    '': { name: manifest.name, version: '1.0.0', dependencies: manifest.dependencies, devDependencies: manifest.devDependencies } as LockEntry,
    'node_modules/roomcast': {
      version: rootManifest.version,
      resolved: `file:${tarball}`,
      dependencies: rootManifest.dependencies,
      peerDependencies: rootManifest.peerDependencies,
      peerDependenciesMeta: rootManifest.peerDependenciesMeta,
      // npm records a package's commands in its lockfile entry and links them from that.
      bin: rootManifest.bin,
    } as LockEntry,
  }
  const pending: Array<[from: string, name: string, optional: boolean]> = []
  for (const name of Object.keys({ ...manifest.dependencies, ...manifest.devDependencies, ...rootManifest.dependencies })) {
    if (name !== 'roomcast') pending.push(['', name, false])
  }
  while (pending.length > 0) {
    const [from, name, optional] = pending.pop()!
    const path = resolveInLock(from, name)
    if (path === undefined) {
      if (optional) continue
      throw new Error(`${name} (needed by ${from || 'the application'}) is not in package-lock.json`)
    }
    if (packages[path] !== undefined) continue
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = rootLock.packages[path]!
    packages[path] = entry
    for (const dependency of Object.keys(entry.dependencies ?? {})) pending.push([path, dependency, false])
    for (const dependency of Object.keys(entry.optionalDependencies ?? {})) pending.push([path, dependency, true])
    for (const dependency of Object.keys(entry.peerDependencies ?? {})) {
      pending.push([path, dependency, entry.peerDependenciesMeta?.[dependency]?.optional === true])
    }
  }
  return { name: manifest.name, version: '1.0.0', lockfileVersion: 3, requires: true, packages }
}

const events = `import { defineEvents, Type } from 'roomcast/shared'

export const events = defineEvents({
  toServer: { 'chat.send': Type.Object({ room: Type.String(), text: Type.String() }) },
  toClient: { 'chat.message': Type.Object({ from: Type.String(), text: Type.String() }) },
  replies: { 'chat.send': Type.Object({ delivered: Type.Boolean() }) },
})
`

const server = `import Fastify from 'fastify'
import roomcast, { RoomcastError } from 'roomcast'
import { events } from './events.js'

declare module 'roomcast' {
  interface RoomcastTypes { events: typeof events }
}

const app = Fastify()
await app.register(roomcast, {
  events,
  authenticate: (data) => {
    const name = (data as { name?: unknown } | null)?.name
    return typeof name === 'string' ? { userId: name, metadata: {} } : null
  },
})
app.roomcast.on('chat.send', async (connection, data) => {
  if (!connection.rooms.has(data.room)) throw new RoomcastError('not_in_room', 'join first')
  const from: string = connection.userId!
  await app.roomcast.rooms.to(data.room).emit('chat.message', { from, text: data.text.toUpperCase() })
  return { delivered: true }
})
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)))
const address = await app.listen({ port: 0, host: '127.0.0.1' })
console.log(address.replace(/^http/, 'ws') + '/ws')
`

const client = `import { RoomcastClient } from 'roomcast/client'
import WebSocket from 'ws'
import { events } from './events.js'

const client = new RoomcastClient<typeof events>(process.argv[2]!, { WebSocket, events, auth: { name: 'ann' }, reconnect: false })
await client.ready()
await client.join('lobby')
const message = new Promise<{ from: string; text: string }>((resolve) => client.on('chat.message', (data) => resolve(data)))
const reply: { delivered: boolean } = await client.request('chat.send', { room: 'lobby', text: 'hello' })
console.log(JSON.stringify({ reply, message: await message }))
client.close()
`

// No `skipLibCheck`: roomcast's declarations must type-check as they are, and they name no
// ioredis type (the Redis options take roomcast's structural `RedisClient`), so an application
// without ioredis checks them in full.
const tsconfig = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    skipLibCheck: false,
    outDir: 'dist',
    rootDir: 'src',
    types: ['node'],
  },
  include: ['src'],
}

/** Scale-out code written against roomcast's types alone: it must compile without ioredis installed. */
const redisTypesOnly = `import { Emitter, redisAdapter, redisChannelCache, redisRateLimiter, type RedisClient } from 'roomcast'

export function scaleOut(redis: RedisClient) {
  return {
    adapter: redisAdapter({ redis, keyPrefix: 'chat' }),
    emitter: new Emitter({ redis }),
    cache: redisChannelCache({ redis }),
    limiter: redisRateLimiter({ redis }),
  }
}
`

/** The same options given real ioredis clients, in both reply mappings, single node and Cluster. */
const redisWithIoredis = `import { Cluster, Redis } from 'ioredis'
import { Emitter, redisAdapter, redisChannelCache, redisRateLimiter, type RedisClient } from 'roomcast'

const redis = new Redis({ lazyConnect: true })
const resp3 = new Redis({ lazyConnect: true, replyMapping: 'resp3' })
const cluster = new Cluster([{ host: '127.0.0.1', port: 7000 }], { lazyConnect: true })
const clusterResp3 = new Cluster<'resp3'>([{ host: '127.0.0.1', port: 7000 }], { lazyConnect: true })

export const adapters = [redisAdapter({ redis }), redisAdapter({ redis: resp3 }), redisAdapter({ redis: cluster }), redisAdapter({ redis: clusterResp3 })]
export const emitters = [new Emitter({ redis }), new Emitter({ redis: cluster })]
export const cache = redisChannelCache({ redis })
export const limiter = redisRateLimiter({ redis: cluster })
export const clients: RedisClient[] = [redis, resp3, cluster, clusterResp3]
// @ts-expect-error an object without the client's members is refused at compile time
export const refused = redisAdapter({ redis: { duplicate: () => undefined } })
`

/** Resolves with the first stdout line of a child, or rejects with its output if it exits first. */
function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const end = output.indexOf('\n')
      if (end !== -1) resolve(output.slice(0, end))
    })
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.once('exit', (code) => reject(new Error(`exited (${code}) before printing a line: ${output}`)))
  })
}

// The tarball is packed from the current build (`--ignore-scripts` skips `prepare`, so this test
// never rewrites dist/ while other test files use it); a checkout without a build gets one here.
t.before(async () => {
  if (existsSync(join(root, 'dist/plugin/index.js')) && existsSync(join(root, 'dist/browser/roomcast-client.js'))) return
  const build = await run('npm', ['run', 'build', '--silent'], root)
  if (build.code !== 0) throw new Error(`npm run build failed (${build.code}): ${build.stderr}`)
})

interface Packed {
  dir: string
  filename: string
  files: string[]
}

/** `npm pack` of this checkout into a temporary directory. */
async function pack(t: Test): Promise<Packed> {
  const dir = mkdtempSync(join(tmpdir(), 'roomcast-install-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const packing = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], root)
  t.equal(packing.code, 0, 'npm pack succeeds')
  const [packed] = JSON.parse(packing.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>
  return { dir, filename: packed!.filename, files: packed!.files.map((file) => file.path) }
}

/**
 * A new application in `packed.dir/name` with roomcast from the tarball, Fastify, ws and TypeScript,
 * installed offline with `npm ci`, and its sources under src/.
 */
async function application(t: Test, packed: Packed, name: string, sources: Record<string, string>): Promise<string> {
  const app = join(packed.dir, name)
  mkdirSync(join(app, 'src'), { recursive: true })
  const manifest = {
    name: `roomcast-install-${name}`,
    private: true,
    type: 'module',
    dependencies: { roomcast: `file:../${packed.filename}`, fastify: installedVersion('fastify'), ws: installedVersion('ws') },
    devDependencies: {
      typescript: installedVersion('typescript'),
      '@types/node': installedVersion('@types/node'),
      '@types/ws': installedVersion('@types/ws'),
    },
    overrides: rootManifest.overrides,
  }
  writeFileSync(join(app, 'package.json'), JSON.stringify(manifest, null, 2))
  writeFileSync(join(app, 'package-lock.json'), JSON.stringify(applicationLock(manifest, `../${packed.filename}`), null, 2))
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2))
  for (const [file, text] of Object.entries(sources)) writeFileSync(join(app, 'src', file), text)

  const install = await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], app)
  t.equal(install.code, 0, `npm ci --offline succeeds${install.code === 0 ? '' : `: ${install.stderr}`}`)
  t.notMatch(install.stderr, /EBADENGINE/, 'no engine warnings on this Node')
  t.ok(existsSync(join(app, 'node_modules/roomcast/dist/plugin/index.js')), 'roomcast is installed with its build')
  return app
}

function compile(app: string): Promise<Run> {
  return run(process.execPath, [join(app, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app)
}

t.test('npm pack: the tarball installs offline into a typed application without ioredis, compiles with tsc --strict and runs', async (t) => {
  const packed = await pack(t)
  const files = packed.files
  for (const path of [
    'package.json',
    'README.md',
    'LICENSE',
    'dist/plugin/index.js',
    'dist/plugin/index.d.ts',
    'dist/client/index.js',
    'dist/client/index.d.ts',
  ]) {
    t.ok(files.includes(path), `the tarball holds ${path}`)
  }
  for (const path of ['dist/shared/index.js', 'dist/shared/index.d.ts', 'dist/browser/roomcast-client.js', 'dist/browser/roomcast-client.iife.js']) {
    t.ok(files.includes(path), `the tarball holds ${path}`)
  }
  t.same(
    files.filter((path) => !/^(package\.json|README\.md|LICENSE|dist\/(plugin|client|shared)\/.+\.(js|d\.ts)|dist\/browser\/.+)$/.test(path)),
    [],
    'nothing else: no sources, tests, bench, example build or TypeScript source maps',
  )

  const app = await application(t, packed, 'app', { 'events.ts': events, 'server.ts': server, 'client.ts': client, 'redis.ts': redisTypesOnly })
  t.notOk(existsSync(join(app, 'node_modules/ioredis')), 'ioredis is not installed')
  const declarations = files.filter((path) => path.endsWith('.d.ts'))
  t.same(
    declarations.filter((path) => /from ['"]ioredis['"]|import\(['"]ioredis['"]\)/.test(readFileSync(join(app, 'node_modules/roomcast', path), 'utf8'))),
    [],
    `none of the ${declarations.length} declaration files imports ioredis`,
  )

  const imported = await run(
    process.execPath,
    ['--input-type=module', '-e', "await import('roomcast'); await import('roomcast/client'); await import('roomcast/shared')"],
    app,
  )
  t.equal(imported.code, 0, `roomcast, roomcast/client and roomcast/shared import without ioredis${imported.code === 0 ? '' : `: ${imported.stderr}`}`)

  // The package's command, as `npx roomcast` finds it: the bin link npm made.
  const command = await run(join(app, 'node_modules/.bin/roomcast'), ['--version'], app)
  t.same(
    [command.code, command.stdout],
    [0, `${rootManifest.version}\n`],
    `node_modules/.bin/roomcast --version${command.code === 0 ? '' : `: ${command.stderr}`}`,
  )

  const compiled = await compile(app)
  t.equal(
    compiled.code,
    0,
    `tsc --strict without skipLibCheck compiles the server, the client and Redis scale-out code${compiled.code === 0 ? '' : `: ${compiled.stdout}`}`,
  )

  const serverProcess = spawn(process.execPath, ['dist/server.js'], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => serverProcess.kill('SIGKILL'))
  const url = await firstLine(serverProcess)
  const clientRun = await run(process.execPath, ['dist/client.js', url], app)
  t.equal(clientRun.code, 0, `the client exits 0${clientRun.code === 0 ? '' : `: ${clientRun.stderr}`}`)
  t.same(
    JSON.parse(clientRun.stdout.trim()),
    { reply: { delivered: true }, message: { from: 'ann', text: 'HELLO' } },
    'a request and its room message made the round trip',
  )

  const stopped = new Promise<number | null>((resolve) => serverProcess.once('exit', resolve))
  serverProcess.kill('SIGTERM')
  t.equal(await stopped, 0, 'the server closes and exits 0')

  // Then the same application with ioredis (this repository's copy, the version the lockfile
  // pins, linked in instead of a second install): its clients fit the Redis options, other
  // objects do not. Compiled on its own; roomcast's declarations were checked in full above, so
  // this run skips checking the libraries' declarations (ioredis's are large).
  symlinkSync(join(root, 'node_modules/ioredis'), join(app, 'node_modules/ioredis'), 'dir')
  mkdirSync(join(app, 'with-ioredis'))
  writeFileSync(join(app, 'with-ioredis/redis.ts'), redisWithIoredis)
  const config = {
    ...tsconfig,
    compilerOptions: { ...tsconfig.compilerOptions, noEmit: true, skipLibCheck: true, rootDir: 'with-ioredis' },
    include: ['with-ioredis'],
  }
  writeFileSync(join(app, 'tsconfig.ioredis.json'), JSON.stringify(config, null, 2))
  const withIoredis = await run(process.execPath, [join(app, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.ioredis.json'], app)
  t.equal(
    withIoredis.code,
    0,
    `with ioredis, Redis and Cluster clients in both reply mappings are accepted and other objects refused${withIoredis.code === 0 ? '' : `: ${withIoredis.stdout}`}`,
  )
})
