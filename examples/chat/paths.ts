import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The package root, found by walking up from this module: the example runs both from its
 * sources (tests) and from `dist/examples/chat` (`npm start`), and serves files that live
 * outside both (the page's sources and the browser bundle).
 */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'roomcast') return dir
    const parent = dirname(dir)
    if (parent === dir) throw new Error('the roomcast package root was not found')
    dir = parent
  }
}

const root = packageRoot()

/** The chat page: HTML, CSS and the page's script. */
export const publicDir = join(root, 'examples', 'chat', 'public')
/** The client's browser bundle, built by `npm run build` (`build:browser`). */
export const browserBundleDir = join(root, 'dist', 'browser')
