import createError from '@fastify/error'
import type * as PromClient from 'prom-client'

export type PromClientModule = typeof PromClient

/** Registration fails with this when `metrics` is on and prom-client cannot be imported. */
export const PromClientMissingError = createError(
  'ROOMCAST_PROM_CLIENT_MISSING',
  'roomcast: the metrics option needs the prom-client package, which could not be loaded (%s); install it with `npm install prom-client`',
  500,
)

/**
 * prom-client is an optional peer dependency: imported only when metrics are on, so an
 * application without it pays nothing and needs nothing installed.
 */
export async function loadPromClient(): Promise<PromClientModule> {
  try {
    return await import('prom-client')
  } catch (err) {
    throw new PromClientMissingError(err instanceof Error ? err.message : String(err))
  }
}
