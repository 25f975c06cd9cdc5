import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

setFlagsFromString('--expose-gc')
/** V8's full collection, available without starting node with `--expose-gc`. */
const collect = runInNewContext('gc') as () => void

/**
 * Whether everything `refs` point to can be collected: full collections, with turns of the
 * event loop in between (a WeakRef keeps its target until the job that made it ends), until
 * every target is gone or `attempts` collections have run.
 */
export async function collectable(refs: readonly WeakRef<object>[], attempts = 20): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    collect()
    await new Promise((resolve) => setTimeout(resolve, 10))
    if (refs.every((ref) => ref.deref() === undefined)) return true
  }
  return false
}
