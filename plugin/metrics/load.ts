import { PromClientMissingError } from '../hub/errors.js'
import type * as PromClient from 'prom-client'

export { PromClientMissingError }

export type PromClientModule = typeof PromClient

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
