import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import t from 'tap'
import { queryParams } from '../../plugin/pusher/http/request-auth.js'
import { PusherHttpError } from '../../plugin/pusher/http/errors.js'

/** What the signature check must see: URLSearchParams's pairs, keys lower-cased, a repeated key refused. */
function reference(query: string): Map<string, string> | 'repeated' {
  const params = new Map<string, string>()
  for (const [key, value] of new URLSearchParams(query)) {
    const lower = key.toLowerCase()
    if (params.has(lower)) return 'repeated'
    params.set(lower, value)
  }
  return params
}

function actual(query: string): Map<string, string> | 'repeated' {
  try {
    return queryParams(query)
  } catch (err) {
    if (err instanceof PusherHttpError && err.status === 400) return 'repeated'
    throw err
  }
}

t.test('query parameters are read exactly as URLSearchParams reads them, with or without anything to decode', async (t) => {
  const query = fc.string({ unit: fc.constantFrom('a', 'B', 'k', '=', '&', '?', '%', '2', '0', 'E', '+', ' ', '_', '.'), maxLength: 24 })
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(query, (text) => isDeepStrictEqual(actual(text), reference(text))),
      { numRuns: 3000 },
    ),
  )
  const sdkQuery = 'auth_key=app-key&auth_timestamp=1796407260&auth_version=1.0&body_md5=0123456789abcdef&auth_signature=ff00'
  t.same(actual(sdkQuery), reference(sdkQuery), "the SDKs' own query")
  t.same(actual('?a=1&&b&=c&A=2'), 'repeated', 'a key repeated in another case')
})
