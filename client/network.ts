interface EventTargetLike {
  addEventListener(type: string, listener: () => void): void
  removeEventListener(type: string, listener: () => void): void
}

/**
 * The browser's online/offline hint (also in workers). Where the global scope has no such
 * events (Node) it does nothing and never reports offline.
 */
export class NetworkHints {
  readonly #online: () => void
  readonly #offline: () => void
  #target: EventTargetLike | undefined

  constructor(handlers: { online: () => void; offline: () => void }) {
    this.#online = () => handlers.online()
    this.#offline = () => handlers.offline()
  }

  /** True only when the platform says there is no network at all. */
  get offline(): boolean {
    const navigator = (globalThis as { navigator?: { onLine?: unknown } }).navigator
    return navigator?.onLine === false
  }

  start(): void {
    if (this.#target !== undefined) return
    const scope = globalThis as Partial<EventTargetLike>
    if (typeof scope.addEventListener !== 'function' || typeof scope.removeEventListener !== 'function') return
    this.#target = scope as EventTargetLike
    this.#target.addEventListener('online', this.#online)
    this.#target.addEventListener('offline', this.#offline)
  }

  stop(): void {
    if (this.#target === undefined) return
    this.#target.removeEventListener('online', this.#online)
    this.#target.removeEventListener('offline', this.#offline)
    this.#target = undefined
  }
}
