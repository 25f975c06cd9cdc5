/**
 * The `info` parameter: a comma-separated list of attributes a response should carry.
 * Unknown attributes are a 400, so a typo is not silently answered without the data.
 */
import { badRequest } from './errors.js'

export type InfoAttribute = 'user_count' | 'subscription_count'

const ATTRIBUTES: readonly InfoAttribute[] = ['user_count', 'subscription_count']

export function parseInfo(info: string | undefined): Set<InfoAttribute> {
  const wanted = new Set<InfoAttribute>()
  if (info === undefined) return wanted
  for (const raw of info.split(',')) {
    const attribute = raw.trim()
    if (attribute === '') continue
    if (!(ATTRIBUTES as readonly string[]).includes(attribute)) throw badRequest(`Unknown info attribute "${attribute.slice(0, 50)}"; known: ${ATTRIBUTES.join(', ')}.`)
    wanted.add(attribute as InfoAttribute)
  }
  return wanted
}
