import { createHash } from 'node:crypto'
import type { BusConnection } from './connection.js'

interface ScriptingClient {
  evalsha(sha: string, numberOfKeys: number, ...keysAndArgs: Array<string | number>): Promise<unknown>
  eval(source: string, numberOfKeys: number, ...keysAndArgs: Array<string | number>): Promise<unknown>
}

/**
 * A Lua script run atomically by Redis: EVALSHA first (only the digest crosses the wire), and
 * EVAL when the server does not know it yet (first use, restart, another Cluster shard).
 * Every script here touches a single key, so on a Cluster it runs on the shard owning that key.
 */
export class LuaScript {
  readonly #source: string
  readonly #sha: string

  constructor(source: string) {
    this.#source = source
    this.#sha = createHash('sha1').update(source).digest('hex')
  }

  async run(connection: BusConnection, keys: string[], args: Array<string | number>): Promise<unknown> {
    const client = connection as unknown as ScriptingClient
    try {
      return await client.evalsha(this.#sha, keys.length, ...keys, ...args)
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err
      return client.eval(this.#source, keys.length, ...keys, ...args)
    }
  }
}
