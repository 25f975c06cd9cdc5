import type { FastifyBaseLogger } from 'fastify'
import type { AnyEvents, EventsDefinition } from '../../shared/events.js'
import type { Connection } from './connection.js'
import { UnknownHookError } from './errors.js'

export interface DisconnectInfo {
  code: number
  reason: string
}

export interface PresenceChange {
  room: string
  userId: string
  action: 'join' | 'leave'
}

/** Lifecycle hooks of the plugin. A hook's error (thrown or rejected) is logged, never fatal. */
export interface HookMap<E extends EventsDefinition = AnyEvents> {
  /** A socket was accepted, before authentication. */
  connection: (connection: Connection<E>) => unknown
  /** The connection is authenticated and may use the application's events. */
  authenticated: (connection: Connection<E>) => unknown
  join: (connection: Connection<E>, room: string) => unknown
  leave: (connection: Connection<E>, room: string) => unknown
  /** The connection is gone: closed by either side, timed out, or dropped. */
  disconnect: (connection: Connection<E>, info: DisconnectInfo) => unknown
  /** A user's first connection entered a room, or their last one left it (cluster-wide). */
  presence: (change: PresenceChange) => unknown
  /** Bad input from a client or a failing application handler. */
  error: (error: Error, connection: Connection<E> | undefined) => unknown
}

export type HookName = keyof HookMap

export class Hooks<E extends EventsDefinition = AnyEvents> {
  readonly #handlers: { [K in HookName]: Array<HookMap<E>[K]> } = {
    connection: [],
    authenticated: [],
    join: [],
    leave: [],
    disconnect: [],
    presence: [],
    error: [],
  }
  readonly #log: FastifyBaseLogger

  constructor(log: FastifyBaseLogger) {
    this.#log = log
  }

  add<K extends HookName>(name: K, handler: HookMap<E>[K]): void {
    const list = this.#handlers[name] as unknown[] | undefined
    if (list === undefined) throw new UnknownHookError(String(name))
    list.push(handler)
  }

  has(name: HookName): boolean {
    return this.#handlers[name].length > 0
  }

  run<K extends HookName>(name: K, ...args: Parameters<HookMap<E>[K]>): void {
    const handlers = this.#handlers[name]
    if (handlers.length === 0) return
    for (const handler of handlers) {
      try {
        const result = (handler as (...a: Parameters<HookMap<E>[K]>) => unknown)(...args)
        if (result instanceof Promise) result.catch((err: unknown) => this.#failed(name, err))
      } catch (err) {
        this.#failed(name, err)
      }
    }
  }

  #failed(name: string, err: unknown): void {
    this.#log.error({ err, hook: name }, 'roomcast: a hook failed')
  }
}
