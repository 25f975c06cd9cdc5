import { build } from 'esbuild'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const root = fileURLToPath(new URL('../..', import.meta.url))

/** Bundles an entry for the browser and lists the files that went in. */
async function inputsOf(entry: string): Promise<string[]> {
  const result = await build({
    entryPoints: [`${root}${entry}`],
    bundle: true,
    write: false,
    minify: true,
    format: 'esm',
    // A `node:*` import cannot be bundled for the browser: the build fails instead of listing it.
    platform: 'browser',
    metafile: true,
    logLevel: 'silent',
    absWorkingDir: root,
  })
  return Object.keys(result.metafile.inputs)
}

t.test('the client bundles for the browser from client/ and shared/ alone, without TypeBox', async (t) => {
  const inputs = await inputsOf('client/index.ts')
  t.ok(
    inputs.some((path) => path.startsWith('client/')),
    'the client is in it',
  )
  t.same(
    inputs.filter((path) => !path.startsWith('client/') && !path.startsWith('shared/')),
    [],
    'nothing from plugin/ or node_modules',
  )
})

t.test('shared/ bundles for the browser: no node:* imports and nothing from plugin/', async (t) => {
  const inputs = await inputsOf('shared/index.ts')
  t.same(
    inputs.filter((path) => path.startsWith('plugin/') || path.startsWith('client/')),
    [],
  )
  t.ok(
    inputs.some((path) => path.includes('@sinclair/typebox')),
    'TypeBox, which the shared schemas are made of',
  )
})
