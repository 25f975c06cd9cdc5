// A name that is not an option fails the registration with ROOMCAST_UNKNOWN_OPTION, naming it
// with its full path and the valid name it was probably meant to be.
import t from 'tap'
import { Emitter, redisAdapter, UnknownOptionError } from '../../plugin/index.js'
import { closestName, editDistance } from '../../plugin/hub/closest-name.js'
import { APP, registrationError } from './support.js'

const misspelt: Array<[options: unknown, message: string]> = [
  [{ presenseEvents: true }, 'roomcast: unknown option "presenseEvents"; did you mean "presenceEvents"?'],
  [{ maxpayload: 10 }, 'roomcast: unknown option "maxpayload"; did you mean "maxPayload"?'],
  [{ adaptor: undefined }, 'roomcast: unknown option "adaptor"; did you mean "adapter"?'],
  [{ heartbeat: { intervall: 1000 } }, 'roomcast: unknown option "heartbeat.intervall"; did you mean "heartbeat.interval"?'],
  [{ rateLimit: { windowMS: 1000 } }, 'roomcast: unknown option "rateLimit.windowMS"; did you mean "rateLimit.windowMs"?'],
  [{ backpressure: { maxDroped: 3 } }, 'roomcast: unknown option "backpressure.maxDroped"; did you mean "backpressure.maxDropped"?'],
  [{ history: [{ match: 'chat:*', size: 10, tll: 1000 }] }, 'roomcast: unknown option "history[0].tll"; did you mean "history[0].ttl"?'],
  // A swapped pair of letters is one edit: the secret is named even though it is also missing.
  [{ pusher: { apps: [{ id: 'a', key: 'k', secert: 's' }] } }, 'roomcast: unknown option "pusher.apps[0].secert"; did you mean "pusher.apps[0].secret"?'],
  [{ pusher: { apps: [APP], pathprefix: '/p' } }, 'roomcast: unknown option "pusher.pathprefix"; did you mean "pusher.pathPrefix"?'],
  [
    { pusher: { apps: [{ ...APP, webhooks: [{ url: 'http://x/', filter: { channelNamePrefx: 'a' } }] }] } },
    'roomcast: unknown option "pusher.apps[0].webhooks[0].filter.channelNamePrefx"; did you mean "pusher.apps[0].webhooks[0].filter.channelNamePrefix"?',
  ],
  [{ pusher: { apps: [APP], http: { bodylimit: 10 } } }, 'roomcast: unknown option "pusher.http.bodylimit"; did you mean "pusher.http.bodyLimit"?'],
  [{ pusher: { apps: [APP], http: { cors: { orign: '*' } } } }, 'roomcast: unknown option "pusher.http.cors.orign"; did you mean "pusher.http.cors.origin"?'],
  [
    { pusher: { apps: [APP], webhooks: { retry: { maxAttempt: 3 } } } },
    'roomcast: unknown option "pusher.webhooks.retry.maxAttempt"; did you mean "pusher.webhooks.retry.maxAttempts"?',
  ],
]

t.test('a misspelt option is named with its path and the nearest valid name, at any depth', async (t) => {
  for (const [options, message] of misspelt) {
    const error = await registrationError(t, options)
    t.ok(error instanceof UnknownOptionError, message)
    t.match(error, { code: 'ROOMCAST_UNKNOWN_OPTION', name: 'TypeError', message }, message)
    t.equal(error?.message, message)
  }
})

t.test('a name that is nothing like an option gets the list of valid ones instead of a guess', async (t) => {
  const nested = await registrationError(t, { heartbeat: { every: 10 } })
  t.equal(nested?.message, 'roomcast: unknown option "heartbeat.every" (heartbeat takes interval, timeout and mode)')
  const top = await registrationError(t, { websocketPath: '/x' })
  t.match(top, {
    code: 'ROOMCAST_UNKNOWN_OPTION',
    message: /^roomcast: unknown option "websocketPath" \(the options are prefix, events, path, .* pusher, metrics and health\)$/,
  })
  t.notMatch(top?.message, /logLevel/, 'names that are always refused are not offered')
})

t.test('the standalone constructors name their own unknown options', async (t) => {
  const redis = { duplicate: () => undefined } as never
  t.throws(() => redisAdapter({ redis, requestTimout: 10 } as never), {
    code: 'ROOMCAST_UNKNOWN_OPTION',
    message: 'roomcast: unknown redisAdapter option "requestTimout"; did you mean "requestTimeout"?',
  })
  t.throws(() => new Emitter({ redis, histroy: [] } as never), {
    code: 'ROOMCAST_UNKNOWN_OPTION',
    message: 'roomcast: unknown Emitter option "histroy"; did you mean "history"?',
  })
})

t.test('edit distance: insertions, deletions, substitutions and neighbour swaps cost one each', async (t) => {
  t.equal(editDistance('', ''), 0)
  t.equal(editDistance('abc', ''), 3)
  t.equal(editDistance('interval', 'intervall'), 1)
  t.equal(editDistance('secret', 'secert'), 1, 'a swap')
  t.equal(editDistance('kitten', 'sitting'), 3)
  t.equal(editDistance('ca', 'abc'), 3, 'optimal string alignment: no edit of a swapped pair')
  t.equal(closestName('PATH', ['path', 'nodeId']), 'path', 'case is ignored')
  t.equal(closestName('prefix', ['path', 'nodeId']), undefined, 'nothing close: no guess')
  t.equal(closestName('mod', ['mode', 'node']), 'mode', 'the first of equally near names')
})
