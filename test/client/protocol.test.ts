import type { TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import t from 'tap'
import {
  decodeFrame,
  encodeMessage,
  HEARTBEAT_FRAME,
  isConnectedPayload,
  isDropped,
  isEnvelope,
  isHistoryReply,
  isJoinReply,
  isMembership,
  isPresence,
  isStreamState,
} from '../../client/protocol.js'
import {
  ConnectedPayload,
  DroppedPayload,
  Envelope,
  HistoryReply,
  HistoryRequest,
  JoinReply,
  JoinRequest,
  MembershipPayload,
  PresencePayload,
  StreamState,
} from '../../shared/envelope.js'
import { RoomcastError } from '../../shared/errors.js'

/**
 * The client's hand-written guards (client/protocol.ts) and the shared TypeBox schemas the
 * server is held to, over the same frames. They agree on every valid and invalid sample; the
 * only frames they differ on are the listed ones the schema refuses and the client tolerates,
 * each for a reason. A guard never refuses a frame the schema accepts.
 */
interface Agreement {
  name: string
  schema: TSchema
  guard: (value: unknown) => boolean
  valid: unknown[]
  invalid: unknown[]
  tolerated: Array<[frame: unknown, why: string]>
}

const heartbeat = { interval: 25_000, timeout: 60_000 }

const agreements: Agreement[] = [
  {
    name: 'envelope',
    schema: Envelope,
    guard: isEnvelope,
    valid: [
      { event: 'chat.message' },
      { event: 'ack', id: 3, data: { text: 'hi' } },
      { event: 'said', data: null, room: 'lobby' },
      { event: 'error', id: 0, data: { code: 'bad_json', message: 'no' } },
      { event: 'said', data: 1, room: 'lobby', offset: 7, epoch: 'e1' },
    ],
    invalid: [
      null,
      [],
      'ack',
      42,
      {},
      { data: 1 },
      { event: 5 },
      { event: 'ack', id: '1' },
      { event: 'said', room: 7 },
      { event: 'said', offset: 0 },
      { event: 'said', epoch: 3 },
    ],
    tolerated: [
      [{ event: 'said', sequence: 7 }, 'a property a newer server adds'],
      [{ event: '' }, 'the name only selects a listener; an unknown one is reported as unknown'],
      [{ event: 'ack', id: 1.5 }, 'the id only looks up a pending request; an odd one finds none'],
      [{ event: 'said', room: 'r'.repeat(201) }, 'the room name is passed on, not interpreted'],
    ],
  },
  {
    name: 'connected',
    schema: ConnectedPayload,
    guard: isConnectedPayload,
    valid: [
      { connectionId: 'c1', rooms: [], heartbeat },
      { connectionId: 'c1', userId: 'u1', rooms: ['lobby'], heartbeat: { ...heartbeat, mode: 'ping' } },
      { connectionId: 'c1', rooms: ['a', 'b'], heartbeat: { ...heartbeat, mode: 'event' }, extra: true },
    ],
    invalid: [
      null,
      { rooms: [], heartbeat },
      { connectionId: 'c1', userId: 5, rooms: [], heartbeat },
      { connectionId: 'c1', rooms: 'lobby', heartbeat },
      { connectionId: 'c1', rooms: [1], heartbeat },
      { connectionId: 'c1', rooms: [] },
      { connectionId: 'c1', rooms: [], heartbeat: { ...heartbeat, interval: 0 } },
      { connectionId: 'c1', rooms: [], heartbeat: { ...heartbeat, interval: '25000' } },
    ],
    tolerated: [
      [{ connectionId: 'c1', rooms: [], heartbeat: { interval: 25_000 } }, 'the client does not read the timeout'],
      [{ connectionId: 'c1', rooms: [], heartbeat: { ...heartbeat, mode: 'sse' } }, 'any mode but `ping` means heartbeat events'],
      [{ connectionId: 'c1', rooms: [], heartbeat: { ...heartbeat, interval: 0.5 } }, 'any positive interval arms the watchdog'],
    ],
  },
  {
    name: 'membership',
    schema: MembershipPayload,
    guard: isMembership,
    valid: [
      { joined: [], left: ['a'] },
      { joined: ['a', 'b'], left: [], extra: 1 },
    ],
    invalid: [null, [], { joined: ['a'] }, { left: [] }, { joined: [1], left: [] }, { joined: [], left: 'a' }],
    tolerated: [],
  },
  {
    name: 'presence',
    schema: PresencePayload,
    guard: isPresence,
    valid: [
      { room: 'r', userId: 'u', action: 'join' },
      { room: 'r', userId: 'u', action: 'leave', since: 1 },
    ],
    invalid: [
      null,
      { room: 'r', userId: 'u', action: 'kick' },
      { room: 'r', action: 'join' },
      { room: 1, userId: 'u', action: 'join' },
      { room: 'r', userId: 'u' },
    ],
    tolerated: [],
  },
  {
    name: 'dropped',
    schema: DroppedPayload,
    guard: isDropped,
    valid: [{ count: 3 }, { count: 1, rooms: { chat: { epoch: 'e1', offset: 8 } } }],
    invalid: [
      null,
      {},
      { count: 0 },
      { count: 2, rooms: { chat: { epoch: 'e1' } } },
      { count: 2, rooms: { chat: { epoch: 'e1', offset: -1 } } },
      { count: 2, rooms: [] },
    ],
    tolerated: [[{ count: 2, rooms: { chat: { epoch: 'e1', offset: 3, extra: 1 } } }, 'a property a newer server adds to a position']],
  },
  {
    name: 'stream state',
    schema: StreamState,
    guard: isStreamState,
    valid: [
      { epoch: 'e1', offset: 0 },
      { epoch: 'e1', offset: 9, recovered: true, replayed: 4 },
      { epoch: 'e2', offset: 3, recovered: false, reason: 'epoch_changed', replayed: 0 },
    ],
    invalid: [
      null,
      { offset: 1 },
      { epoch: 'e1', offset: -1 },
      { epoch: 'e1', offset: 1.5 },
      { epoch: 'e1', offset: 1, recovered: 'yes' },
      { epoch: 'e1', offset: 1, recovered: false, reason: 'gone' },
      { epoch: 'e1', offset: 1, replayed: -2 },
    ],
    tolerated: [],
  },
  {
    name: 'join reply',
    schema: JoinReply,
    guard: isJoinReply,
    valid: [
      { joined: ['a'], refused: [] },
      { joined: ['a'], refused: ['b'], streams: { a: { epoch: 'e1', offset: 2, replayed: 2 } } },
    ],
    invalid: [null, { joined: ['a'] }, { joined: 'a', refused: [] }, { joined: [], refused: [], streams: { a: { offset: 1 } } }],
    tolerated: [],
  },
  {
    name: 'history reply',
    schema: HistoryReply,
    guard: isHistoryReply,
    valid: [
      { epoch: 'e1', offset: 0, publications: [], complete: true },
      {
        epoch: 'e1',
        offset: 7,
        publications: [
          { offset: 6, event: 'said', data: { text: 'hi' } },
          { offset: 7, event: 'said' },
        ],
        complete: false,
      },
    ],
    invalid: [
      null,
      { epoch: 'e1', offset: 0, publications: [] },
      { epoch: 'e1', offset: 0, publications: {}, complete: true },
      { epoch: 'e1', offset: 0, publications: [{ offset: 0, event: 'said' }], complete: true },
      { epoch: 'e1', offset: 0, publications: [{ offset: 1 }], complete: true },
      { epoch: 1, offset: 0, publications: [], complete: true },
    ],
    tolerated: [],
  },
]

for (const { name, schema, guard, valid, invalid, tolerated } of agreements) {
  t.test(`${name}: the client guard and the shared schema agree`, async (t) => {
    for (const frame of valid) {
      t.ok(Value.Check(schema, frame), `schema accepts ${JSON.stringify(frame)}`)
      t.ok(guard(frame), `client accepts ${JSON.stringify(frame)}`)
    }
    for (const frame of invalid) {
      t.notOk(Value.Check(schema, frame), `schema refuses ${JSON.stringify(frame)}`)
      t.notOk(guard(frame), `client refuses ${JSON.stringify(frame)}`)
    }
    for (const [frame, why] of tolerated) {
      t.notOk(Value.Check(schema, frame), `schema refuses ${JSON.stringify(frame)}`)
      t.ok(guard(frame), `client tolerates ${JSON.stringify(frame)}: ${why}`)
    }
  })
}

t.test('what the client sends passes the server schema', async (t) => {
  t.ok(Value.Check(Envelope, JSON.parse(HEARTBEAT_FRAME)), 'the heartbeat answer')
  for (const [event, data, id] of [
    ['echo', { text: 'hi' }, 1],
    ['say', { room: 'lobby', text: 'hi' }, undefined],
    ['join', { rooms: ['lobby'] }, Number.MAX_SAFE_INTEGER],
  ] as const) {
    const message = encodeMessage(event, data, id)
    if (message instanceof RoomcastError) throw message
    t.ok(Value.Check(Envelope, JSON.parse(message.text)), message.text)
  }
  // The stream requests the client builds (client.ts, rooms.ts) against their schemas.
  t.ok(Value.Check(JoinRequest, { rooms: ['chat'], recover: { chat: { epoch: 'e1', offset: 4 } } }), 'a rejoin that recovers')
  t.ok(Value.Check(JoinRequest, { rooms: ['chat'], rewind: 50 }), 'a join that rewinds')
  t.ok(Value.Check(HistoryRequest, { room: 'chat', since: { epoch: 'e1', offset: 0 }, limit: 1000 }), 'a gap read')
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  t.match(encodeMessage('echo', cyclic, 1), { code: 'invalid_data' }, 'data that is not JSON is refused before sending')
})

t.test('decodeFrame: an envelope, or the error that replaces the frame', async (t) => {
  t.same(decodeFrame('{"event":"ack","id":1,"data":2}'), { event: 'ack', id: 1, data: 2 })
  t.match(decodeFrame('{"event":'), { code: 'bad_json' })
  t.match(decodeFrame('[1]'), { code: 'bad_envelope' })
})
