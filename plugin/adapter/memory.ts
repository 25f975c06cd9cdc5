import type { Adapter, AdapterNode } from '../hub/adapter.js'
import type { Delivery } from '../hub/delivery.js'
import { PUBLISHED, type PublishOutcome } from '../hub/publish-outcome.js'
import type { ClusterAnswer, Query, QueryResult } from '../hub/queries.js'
import { MemoryHistory } from './memory-history.js'
import { MemoryStore } from './memory-store.js'
import { AdapterNotAttachedError } from '../hub/errors.js'

/** The default adapter: one process, nothing to set up. Every delivery and query is local. */
export class MemoryAdapter implements Adapter {
  readonly store = new MemoryStore()
  #node: AdapterNode | undefined
  /** Room streams in this process's memory (bounded by each room's size and ttl). */
  readonly history = new MemoryHistory(() => this.#node)

  async attach(node: AdapterNode): Promise<void> {
    this.#node = node
  }

  /** Local delivery is all there is: the outcome is the shared settled one. */
  publish(delivery: Delivery): PublishOutcome {
    this.#node?.deliver(delivery)
    return PUBLISHED
  }

  async query<Q extends Query>(query: Q): Promise<ClusterAnswer<QueryResult<Q>>> {
    const node = this.#attached()
    return { value: node.answer(query), answered: [node.nodeId], missing: [] }
  }

  watch(): void {}
  unwatch(): void {}

  async trackPresence(): Promise<boolean> {
    return true
  }

  async close(): Promise<void> {
    this.#node = undefined
  }

  #attached(): AdapterNode {
    if (this.#node === undefined) throw new AdapterNotAttachedError('memory')
    return this.#node
  }
}

export function memoryAdapter(): MemoryAdapter {
  return new MemoryAdapter()
}
