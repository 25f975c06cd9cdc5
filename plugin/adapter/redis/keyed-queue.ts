/**
 * Runs tasks one at a time per key, in the order they were queued, while tasks of different
 * keys run concurrently. Each key's chain is forgotten as soon as its last task settles, so
 * memory follows the keys that are busy, not every key ever seen.
 *
 * Used where two Redis round trips for the same thing must not interleave: a join and the
 * leave right after it must reach Redis in that order, whole, or the leave finds nothing to
 * remove and the join lands after it.
 */
export class KeyedQueue {
  readonly #tails = new Map<string, Promise<unknown>>()

  /** Keys with a task queued or running. */
  get size(): number {
    return this.#tails.size
  }

  /** Runs `task` once every task queued earlier under `key` has settled (fulfilled or not). */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key)
    const result = previous === undefined ? task() : previous.then(task, task)
    // The tail never rejects: a failed task must not fail the ones queued after it.
    const tail = result.then(
      () => {},
      () => {},
    )
    this.#tails.set(key, tail)
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key)
    })
    return result
  }

  /** Resolves once every task queued so far, under any key, has settled. */
  async idle(): Promise<void> {
    while (this.#tails.size > 0) await Promise.all([...this.#tails.values()])
  }
}
