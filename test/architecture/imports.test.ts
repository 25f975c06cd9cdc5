// The import rules of README "Layout", checked on every source file so the layers cannot drift:
//   shared ← hub ← { ws, adapter } ← { native, pusher } ← metrics ← { api, server, options, plugin, index } ← cli
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import ts from 'typescript'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** The floor of each layer: a file may import its own layer and the layers on lower floors. */
const floors: Record<string, number> = { shared: 0, hub: 1, ws: 2, adapter: 2, native: 3, pusher: 3, metrics: 4, top: 5, cli: 6 }

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
}

/** `shared`, `client`, or the folder under plugin/ (`top` for plugin/*.ts and plugin/api/). */
function layerOf(file: string): string {
  const [top, folder, ...rest] = file.split('/')
  if (top !== 'plugin') return top!
  if (rest.length === 0 || folder === 'api') return 'top'
  return folder!
}

interface Import {
  from: string
  /** A repository path for a relative import, otherwise the package specifier. */
  to: string
  relative: boolean
}

function importsOf(file: string): Import[] {
  const info = ts.preProcessFile(readFileSync(join(root, file), 'utf8'), true, true)
  return info.importedFiles.map(({ fileName }) => {
    if (!fileName.startsWith('.')) return { from: file, to: fileName, relative: false }
    return { from: file, to: relative(root, resolve(root, dirname(file), fileName)).replace(/\.js$/, '.ts'), relative: true }
  })
}

const files = [...sourceFiles('plugin'), ...sourceFiles('shared'), ...sourceFiles('client')]
const imports = files.flatMap(importsOf)
const show = (list: Import[]): string[] => list.map((i) => `${i.from} → ${i.to}`)

t.test('every relative import names an existing source file', async (t) => {
  const known = new Set(files)
  t.same(show(imports.filter((i) => i.relative && !known.has(i.to))), [])
})

t.test('plugin/ layers import only their own layer and the floors below', async (t) => {
  const wrong = imports.filter((i) => {
    if (!i.relative || !i.from.startsWith('plugin/')) return false
    const from = layerOf(i.from)
    const to = layerOf(i.to)
    if (to === 'client') return true
    return from !== to && !(floors[to]! < floors[from]!)
  })
  t.same(show(wrong), [], 'no import runs back up, and siblings (ws/adapter, native/pusher) stay apart')
})

t.test('the hub imports only hub/ and shared/, and no socket or Redis library', async (t) => {
  const hub = imports.filter((i) => layerOf(i.from) === 'hub')
  t.same(show(hub.filter((i) => i.relative && !['hub', 'shared'].includes(layerOf(i.to)))), [])
  t.same(show(hub.filter((i) => !i.relative && /^(ws|@fastify\/websocket|ioredis)(\/|$)/.test(i.to))), [])
})

t.test('protocols reach Redis only through its public store, never the adapter', async (t) => {
  const wrong = imports.filter(
    (i) => ['native', 'pusher'].includes(layerOf(i.from)) && i.to.startsWith('plugin/adapter/redis/') && i.to !== 'plugin/adapter/redis/store.ts',
  )
  t.same(show(wrong), [])
})

t.test('the transport-neutral cluster core does not import the Redis adapter', async (t) => {
  t.same(show(imports.filter((i) => i.from.startsWith('plugin/adapter/cluster/') && i.to.startsWith('plugin/adapter/redis/'))), [])
})

t.test('the native and Pusher protocols do not import each other', async (t) => {
  t.same(
    show(
      imports.filter(
        (i) =>
          i.relative && ['native', 'pusher'].includes(layerOf(i.from)) && ['native', 'pusher'].includes(layerOf(i.to)) && layerOf(i.from) !== layerOf(i.to),
      ),
    ),
    [],
  )
})

t.test('client/ and shared/ import nothing from plugin/ and nothing from node:*', async (t) => {
  const browser = imports.filter((i) => ['client', 'shared'].includes(layerOf(i.from)))
  t.same(show(browser.filter((i) => i.relative && i.to.startsWith('plugin/'))), [])
  t.same(show(browser.filter((i) => !i.relative && (i.to.startsWith('node:') || ['fs', 'net', 'http', 'crypto', 'path'].includes(i.to)))), [])
  t.same(show(browser.filter((i) => layerOf(i.from) === 'shared' && i.relative && i.to.startsWith('client/'))), [], 'shared/ does not import client/')
})

/** Groups of files that import each other, directly or around a circle (strongly connected components, Tarjan). */
function importCircles(edges: Import[]): string[][] {
  const next = new Map<string, string[]>()
  for (const edge of edges) next.set(edge.from, [...(next.get(edge.from) ?? []), edge.to])
  const order = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const circles: string[][] = []
  const visit = (file: string): void => {
    order.set(file, order.size)
    low.set(file, order.get(file)!)
    stack.push(file)
    onStack.add(file)
    for (const to of next.get(file) ?? []) {
      if (!order.has(to)) {
        visit(to)
        low.set(file, Math.min(low.get(file)!, low.get(to)!))
      } else if (onStack.has(to)) {
        low.set(file, Math.min(low.get(file)!, order.get(to)!))
      }
    }
    if (low.get(file) !== order.get(file)) return
    const component: string[] = []
    let member: string
    do {
      member = stack.pop()!
      onStack.delete(member)
      component.push(member)
    } while (member !== file)
    if (component.length > 1 || next.get(file)?.includes(file)) circles.push(component.sort())
  }
  for (const file of next.keys()) if (!order.has(file)) visit(file)
  return circles
}

t.test('no import circles among plugin/ files, type-only imports included', async (t) => {
  const inPlugin = imports.filter((i) => i.relative && i.from.startsWith('plugin/') && i.to.startsWith('plugin/'))
  t.same(importCircles(inPlugin), [])
  // The check itself: a circle of three and a file importing itself are found, a chain is not.
  const edge = (from: string, to: string): Import => ({ from, to, relative: true })
  t.same(importCircles([edge('a', 'b'), edge('b', 'c'), edge('c', 'a'), edge('c', 'd'), edge('e', 'e')]), [['a', 'b', 'c'], ['e']])
})
