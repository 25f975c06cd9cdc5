import { mergeAnswers, type ClusterAnswer, type Query, type QueryResult } from '../../hub/queries.js'
import type { AnswerMessage, QueryMessage } from './control.js'

export interface RequestBrokerOptions {
  nodeId: string
  busId: string
  timeout: number
  /** Publishes a query to every node; resolves false when it could not be sent. */
  send(message: QueryMessage): Promise<boolean>
}

interface Pending {
  query: Query
  parts: unknown[]
  answered: string[]
  missing: string[]
  /** Live nodes whose answer has not arrived. */
  waiting: Set<string>
  timer: NodeJS.Timeout | undefined
  resolve(answer: ClusterAnswer<QueryResult<Query>>): void
}

/**
 * Cluster queries over the bus: ask every live node, collect their parts, merge. A query ends
 * when every expected node has answered, when the timeout strikes, or when the request cannot
 * be sent at all; in the last two cases the answer holds what arrived and names the nodes that
 * did not answer. A node that dies or leaves while a query waits on it stops being waited for.
 */
export class RequestBroker {
  /** Queries that ended with at least one node missing. */
  partial = 0
  sent = 0
  readonly #options: RequestBrokerOptions
  readonly #pending = new Map<string, Pending>()
  #sequence = 0

  constructor(options: RequestBrokerOptions) {
    this.#options = options
  }

  get inFlight(): number {
    return this.#pending.size
  }

  /** Asks `expected` (the other live nodes); `local` is this node's own part. */
  ask<Q extends Query>(query: Q, local: QueryResult<Q>, expected: readonly string[]): Promise<ClusterAnswer<QueryResult<Q>>> {
    if (expected.length === 0) return Promise.resolve({ value: local, answered: [this.#options.nodeId], missing: [] })
    const id = `${this.#options.busId}.${++this.#sequence}`
    return new Promise<ClusterAnswer<QueryResult<Q>>>((resolve) => {
      const pending: Pending = {
        query,
        parts: [local],
        answered: [this.#options.nodeId],
        missing: [],
        waiting: new Set(expected),
        timer: undefined,
        resolve: resolve as Pending['resolve'],
      }
      pending.timer = setTimeout(() => this.#finish(id), this.#options.timeout)
      this.#pending.set(id, pending)
      this.sent++
      this.#options.send({ t: 'query', id, from: this.#options.busId, node: this.#options.nodeId, q: query }).then((sent) => {
        if (!sent) this.#finish(id)
      })
    })
  }

  /** One node's answer arrived. Answers from nodes not yet known to be alive are taken too. */
  answer(message: AnswerMessage): void {
    const pending = this.#pending.get(message.id)
    if (pending === undefined || pending.answered.includes(message.node) || pending.missing.includes(message.node)) return
    pending.waiting.delete(message.node)
    if (message.error !== undefined) pending.missing.push(message.node)
    else {
      pending.parts.push(message.value)
      pending.answered.push(message.node)
    }
    if (pending.waiting.size === 0) this.#finish(message.id)
  }

  /** A node is gone: whoever waits for it stops waiting, and lists it as missing. */
  departed(nodeId: string): void {
    for (const [id, pending] of this.#pending) {
      if (!pending.waiting.delete(nodeId)) continue
      pending.missing.push(nodeId)
      if (pending.waiting.size === 0) this.#finish(id)
    }
  }

  /** Ends every query now with what it has (closing). */
  finishAll(): void {
    for (const id of [...this.#pending.keys()]) this.#finish(id)
  }

  #finish(id: string): void {
    const pending = this.#pending.get(id)
    if (pending === undefined) return
    this.#pending.delete(id)
    clearTimeout(pending.timer)
    const missing = [...pending.missing, ...pending.waiting]
    if (missing.length > 0) this.partial++
    pending.resolve({
      value: mergeAnswers(pending.query, pending.parts as Array<QueryResult<Query>>),
      answered: pending.answered,
      missing,
    })
  }
}
