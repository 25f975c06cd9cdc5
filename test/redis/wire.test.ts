import { Redis } from 'ioredis'
import t from 'tap'
import { redisAdapter } from '../../plugin/index.js'
import type { Delivery, Target } from '../../plugin/hub/delivery.js'
import { decodeControl, encodeControl, type ControlMessage } from '../../plugin/adapter/cluster/control.js'
import { Keyspace } from '../../plugin/adapter/redis/keyspace.js'
import { decodeDelivery, encodeDelivery, encodeDeliveryAwaitingPosition, WireFormatError } from '../../plugin/adapter/cluster/wire.js'

t.test('a delivery crosses the bus as a JSON header, a newline and the payload text untouched', async (t) => {
  const data = JSON.stringify({ text: 'line one\nline two \u2028 "quoted" \\ é 🎉' })
  const delivery: Delivery = { target: { kind: 'rooms', rooms: ['lobby', 'a:b{c}'] }, except: ['c1'], event: 'chat', data, protocol: 'native', userId: 42 }
  const text = encodeDelivery(delivery, 'origin', 7)
  t.equal(
    text,
    '{"o":"origin","k":"r","e":"chat","n":["lobby","a:b{c}"],"x":["c1"],"p":"native","u":42,"m":7}\n' + data,
    'the payload is appended, not escaped into a string',
  )
  t.same(decodeDelivery(text), { origin: 'origin', sequence: 7, loopback: false, delivery })

  const targets: Target[] = [{ kind: 'users', users: ['ann'] }, { kind: 'connections', ids: ['x', 'y'] }, { kind: 'all' }]
  for (const target of targets) {
    const plain: Delivery = { target, event: 'ping' }
    t.same(decodeDelivery(encodeDelivery(plain, 'o')), { origin: 'o', sequence: undefined, loopback: false, delivery: plain }, `${target.kind}, no data`)
  }
})

t.test('a stream position crosses in the header; the history script completes a header awaiting it', async (t) => {
  const delivery: Delivery = { target: { kind: 'rooms', rooms: ['chat'] }, event: 'chat', data: '{"n":1}', position: { epoch: 'e-1_x', offset: 7 } }
  const text = encodeDelivery(delivery, 'o')
  t.equal(text, '{"o":"o","k":"r","e":"chat","n":["chat"],"s":["e-1_x",7]}\n{"n":1}')
  t.same(decodeDelivery(text).delivery, delivery)
  const { data: _, ...withoutData } = delivery
  for (const expected of [delivery, withoutData]) {
    const { head, tail } = encodeDeliveryAwaitingPosition({ ...expected, position: undefined }, 'o', true)
    // What the script does: append the position and close the header.
    t.same(decodeDelivery(`${head},"s":["e-1_x",7]}${tail}`), { origin: 'o', sequence: undefined, loopback: true, delivery: expected })
  }
})

t.test('malformed bus messages are refused with a WireFormatError', async (t) => {
  const bad = [
    '',
    'not json',
    '[]',
    '{"o":"x"}',
    '{"o":"x","e":"e","k":"z"}',
    '{"o":"x","e":"e","k":"r","n":"lobby"}',
    '{"o":"x","e":"e","k":"r","n":[1]}',
    '{"o":"x","e":"e","k":"a","u":true}',
    '{"o":"x","e":"e","k":"a","m":"1"}',
    '{"o":"x","e":"e","k":"r","n":["r"],"s":"e"}',
    '{"o":"x","e":"e","k":"r","n":["r"],"s":["",1]}',
    '{"o":"x","e":"e","k":"r","n":["r"],"s":["e",0]}',
    '{"o":"x","e":"e","k":"r","n":["r"],"s":["e",1.5]}',
  ]
  for (const text of bad) t.throws(() => decodeDelivery(text), WireFormatError, JSON.stringify(text))
})

t.test('control messages are checked against their schemas', async (t) => {
  const query: ControlMessage = { t: 'query', id: 'q1', from: 'bus', node: 'a', q: { type: 'join', target: { kind: 'users', users: ['ann'] }, rooms: ['x'] } }
  t.same(decodeControl(encodeControl(query)), query)
  t.same(decodeControl(encodeControl({ t: 'answer', id: 'q1', node: 'b', value: [1] })), { t: 'answer', id: 'q1', node: 'b', value: [1] })
  t.equal(decodeControl('{"t":"query","id":"q","from":"b","node":"a","q":{"type":"drop-tables"}}'), undefined)
  t.equal(decodeControl('{"t":"hello"}'), undefined)
  t.equal(decodeControl('nope'), undefined)
})

t.test('channel and key names cannot collide whatever the names contain', async (t) => {
  const keys = new Keyspace('app')
  t.same(keys.deliveryChannels({ kind: 'rooms', rooms: ['x', 'all'] }), ['app:r:x', 'app:r:all'])
  t.same(keys.deliveryChannels({ kind: 'all' }), ['app:all'])
  t.equal(keys.interest('user', 'u:1'), 'app:u:u:1')
  t.not(keys.presence('a:b', 'c'), keys.presence('a', 'b:c'))
  t.equal(keys.presence('a:b', 'c'), 'app:presence:a%3Ab:c')
  t.same(keys.stream('lobby'), { channel: 'app:r:lobby', meta: '{app:r:lobby}:hm', entries: '{app:r:lobby}:hs' }, 'tagged with the channel')
  t.same(keys.stream('{x}y'), { channel: 'app:r:{x}y', meta: '{x}:hm', entries: '{x}:hs' }, "the channel's own tag")
  t.not(keys.stream('a}b').meta, keys.stream('a}c').meta, 'a slot tag keeps the room name')
})

t.test('options are checked; an adapter serves one registration; an unused one holds nothing', async (t) => {
  const invalid = (message: string) => ({ code: 'ROOMCAST_INVALID_OPTION', message })
  t.throws(() => redisAdapter({} as never), invalid('roomcast: redisAdapter redis is required: an ioredis Redis or Cluster client'))
  t.throws(() => redisAdapter({ redis: {} as never }), invalid('roomcast: redisAdapter redis must be an ioredis Redis or Cluster client (got an object)'))
  const redis = new Redis({ lazyConnect: true })
  t.throws(() => redisAdapter({ redis, heartbeatInterval: 0 }), invalid('roomcast: redisAdapter heartbeatInterval must be a positive number of milliseconds'))
  t.throws(() => redisAdapter({ redis, keyPrefix: '' }), invalid('roomcast: redisAdapter keyPrefix must be a non-empty string'))
  t.throws(() => redisAdapter({ redis, keyprefix: 'x' } as never), {
    code: 'ROOMCAST_UNKNOWN_OPTION',
    message: 'roomcast: unknown redisAdapter option "keyprefix"; did you mean "keyPrefix"?',
  })
  const adapter = redisAdapter({ redis })
  t.equal(adapter.keyPrefix, 'roomcast')
  t.same(adapter.stats, {
    connected: false,
    published: 0,
    publishFailures: 0,
    received: 0,
    ownEchoes: 0,
    duplicates: 0,
    malformed: 0,
    presenceFailures: 0,
    queries: 0,
    partialAnswers: 0,
    subscriptions: 0,
    liveNodes: 0,
    reconnects: 0,
  })
  await adapter.close()
})
