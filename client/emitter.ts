type Listener = (...args: never[]) => void

interface Registration {
  listener: Listener
  once: boolean
}

/**
 * The listener registry behind `on/off/once`. It is untyped inside; the client's public
 * methods give it its types. A throwing listener does not stop the others: its error goes to
 * `onListenerError`.
 */
export class ListenerRegistry {
  readonly #listeners = new Map<string, Registration[]>()
  readonly #onListenerError: (error: unknown, event: string) => void

  constructor(onListenerError: (error: unknown, event: string) => void) {
    this.#onListenerError = onListenerError
  }

  add(event: string, listener: Listener, once: boolean): void {
    let list = this.#listeners.get(event)
    if (list === undefined) {
      list = []
      this.#listeners.set(event, list)
    }
    list.push({ listener, once })
  }

  /** Removes one listener (every registration of it), or all of an event's when none is given. */
  remove(event: string, listener?: Listener): void {
    if (listener === undefined) {
      this.#listeners.delete(event)
      return
    }
    const list = this.#listeners.get(event)
    if (list === undefined) return
    const kept = list.filter((registration) => registration.listener !== listener)
    if (kept.length === 0) this.#listeners.delete(event)
    else this.#listeners.set(event, kept)
  }

  has(event: string): boolean {
    return this.#listeners.has(event)
  }

  count(event: string): number {
    return this.#listeners.get(event)?.length ?? 0
  }

  /** Calls the event's listeners in registration order; returns whether there were any. */
  emit(event: string, ...args: unknown[]): boolean {
    const list = this.#listeners.get(event)
    if (list === undefined) return false
    // A listener may add or remove listeners; this call uses the list as it was.
    const snapshot = list.slice()
    if (snapshot.some((registration) => registration.once)) {
      const kept = list.filter((registration) => !registration.once)
      if (kept.length === 0) this.#listeners.delete(event)
      else this.#listeners.set(event, kept)
    }
    for (const { listener } of snapshot) {
      try {
        ;(listener as (...values: unknown[]) => void)(...args)
      } catch (error) {
        this.#onListenerError(error, event)
      }
    }
    return true
  }
}
