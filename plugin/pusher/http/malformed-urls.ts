/**
 * Paths with broken percent-encoding (`/apps/1/channels/%E0%A4%A`) under the Pusher HTTP API.
 *
 * Fastify's router answers them itself, before any hook, route or error handler runs, with a
 * body of its own (`FST_ERR_BAD_URL`), unless the whole server was created with
 * `frameworkErrors`. So that the API answers them in its `{ error, code }` shape without asking
 * the application to change its server options, a listener that runs before Fastify's takes
 * the API's requests whose path does not decode, remembers their URL, and points them at the
 * API's root, where a hook of the API answers 400.
 */
import type { EventEmitter } from 'node:events'
import type { IncomingMessage } from 'node:http'

export class MalformedApiUrls {
  /** The API's requests start with it; such requests are routed to it instead, inside the API, so that its hooks see them. */
  readonly #root: string
  readonly #original = new WeakMap<IncomingMessage, string>()

  /** `apiRoot` is the API's path, `[pathPrefix]/apps`. */
  constructor(apiRoot: string) {
    this.#root = apiRoot + '/'
  }

  /** Starts looking at a server's requests; the returned function stops. */
  watch(server: EventEmitter): () => void {
    const listener = (request: IncomingMessage): void => {
      const url = request.url
      // Most requests have no percent sign at all: nothing to split or decode.
      if (url === undefined || !url.includes('%') || !url.startsWith(this.#root)) return
      const path = url.split(/[?#]/, 1)[0]!
      if (!path.includes('%') || decodes(path)) return
      this.#original.set(request, url)
      request.url = this.#root
    }
    server.prependListener('request', listener)
    return () => void server.off('request', listener)
  }

  /** The URL a request came in with, when its path could not be decoded. */
  originalUrl(request: IncomingMessage): string | undefined {
    return this.#original.get(request)
  }
}

function decodes(path: string): boolean {
  try {
    decodeURI(path)
    return true
  } catch {
    return false
  }
}
