import Fastify from 'fastify'
import type { Test } from 'tap'
import roomcast, { type RegisteredEvents, type RoomcastOptions } from '../../plugin/index.js'

/** What registering roomcast with `options` on a fresh Fastify instance fails with (undefined when it starts). */
export async function registrationError(t: Test, options: unknown): Promise<(Error & { code?: string }) | undefined> {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  try {
    await app.register(roomcast, options as RoomcastOptions<RegisteredEvents>).ready()
    return undefined
  } catch (err) {
    return err as Error & { code?: string }
  }
}

export const APP = { id: 'app-id', key: 'app-key', secret: 'app-secret' }
