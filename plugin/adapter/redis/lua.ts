import { createHash } from 'node:crypto'
import type { RedisClient } from './client.js'

/** What running a script needs of a client: the application's, or a connection of the adapter's. */
type ScriptingClient = Pick<RedisClient, 'evalsha' | 'eval'>

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

  async run(client: ScriptingClient, keys: string[], args: Array<string | number>): Promise<unknown> {
    try {
      return await client.evalsha(this.#sha, keys.length, ...keys, ...args)
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err
      return client.eval(this.#source, keys.length, ...keys, ...args)
    }
  }
}
