/**
 * The configuration built up layer by layer (defaults < config file < soketi variables <
 * ROOMCAST_* variables < flags): each layer sets values at paths, a later one winning, and the
 * source of every value is remembered so that a validation error can say where it came from.
 */

export type ConfigPath = readonly (string | number)[]

type Container = Record<string, unknown> | unknown[]

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** `apps[0].webhooks`: the way a user writes a path, and the way errors name it. */
export function formatPath(path: ConfigPath): string {
  let text = ''
  for (const part of path) text += typeof part === 'number' ? `[${part}]` : text === '' ? part : `.${part}`
  return text === '' ? '(the configuration)' : text
}

export class ConfigLayers {
  readonly #root: Record<string, unknown> = {}
  readonly #sources = new Map<string, string>()

  /** The merged configuration so far (not yet validated). */
  get value(): Record<string, unknown> {
    return this.#root
  }

  /** Sets one value, creating the objects and arrays on its way; a later set wins. */
  set(path: ConfigPath, value: unknown, source: string): void {
    let container: Container = this.#root
    for (let i = 0; i < path.length - 1; i++) {
      const key = path[i]!
      const nextIsIndex = typeof path[i + 1] === 'number'
      let child = (container as Record<string | number, unknown>)[key]
      if (!(nextIsIndex ? Array.isArray(child) : isPlainObject(child))) {
        child = nextIsIndex ? [] : {}
        ;(container as Record<string | number, unknown>)[key] = child
      }
      container = child as Container
    }
    ;(container as Record<string | number, unknown>)[path.at(-1)!] = value
    this.#sources.set(formatPath(path), source)
  }

  /** Merges a whole object (a config file) into the configuration, key by key. */
  merge(object: Record<string, unknown>, source: string, at: ConfigPath = []): void {
    for (const [key, value] of Object.entries(object)) {
      const path = [...at, key]
      if (isPlainObject(value) && Object.keys(value).length > 0) this.merge(value, source, path)
      else this.set(path, value, source)
    }
  }

  /** The value at a path, if any. */
  get(path: ConfigPath): unknown {
    let value: unknown = this.#root
    for (const part of path) {
      if (value === null || typeof value !== 'object') return undefined
      value = (value as Record<string | number, unknown>)[part]
    }
    return value
  }

  /** Where the value at a path (or the nearest enclosing one) came from. */
  sourceOf(path: ConfigPath): string | undefined {
    for (let length = path.length; length > 0; length--) {
      const source = this.#sources.get(formatPath(path.slice(0, length)))
      if (source !== undefined) return source
    }
    // A key set below the path (the path names an object that a layer filled key by key).
    const prefix = formatPath(path)
    for (const [key, source] of this.#sources) if (key.startsWith(prefix)) return source
    return undefined
  }
}
