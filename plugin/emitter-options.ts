/**
 * The schema of the standalone Emitter's options, checked by its constructor like the plugin's
 * options are at registration: a typo or a wrong value throws a coded error naming it.
 */
import { Type } from '@sinclair/typebox'
import { RedisClientSchema } from './adapter/redis/options.js'
import { callback, nonEmptyString, optionsObject, positiveInteger } from './hub/option-schema.js'
import { EventsSchema, HistoryOptionSchema } from './options-schema.js'

export const EmitterOptionsSchema = optionsObject(
  {
    redis: RedisClientSchema,
    keyPrefix: Type.Optional(nonEmptyString()),
    events: Type.Optional(EventsSchema),
    onError: Type.Optional(callback('(error) => void')),
    maxPending: Type.Optional(positiveInteger()),
    history: Type.Optional(HistoryOptionSchema),
  },
  'an object { redis, keyPrefix, events, onError, maxPending, history }',
)
