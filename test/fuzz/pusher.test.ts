/**
 * Property-based fuzzing of the Pusher WebSocket endpoint: generated frames of every class,
 * signed subscriptions and sign-ins among them, each answer checked against the documented one.
 */
import { createHmac } from 'node:crypto'
import fc from 'fast-check'
import t from 'tap'
import { MAX_JSON_DEPTH } from '../../shared/index.js'
import { anyValue, edgyString, envelopes, frameCases, nestedText, parsedDepth, type FrameCase } from './frames.js'
import { RUNS } from './harness.js'
import { FUZZ_APP, FUZZ_MAX_PAYLOAD } from './limits.js'
import { fuzzWebSocket } from './run-ws.js'
import type { Answer, Protocol } from './ws-driver.js'

/**
 * A signature the frame asks for: `"@SIGN:<kind>:<base64 of channel \n data>@"` is replaced at
 * send time by the app's signature over the connection's socket id, so signed frames reach
 * the parsing that only follows a valid signature.
 */
const SIGN = /"@SIGN:(channel|user):([A-Za-z0-9+/=]*)@"/g
const signMarker = (kind: 'channel' | 'user', channel: string, data: string): string =>
  `@SIGN:${kind}:${Buffer.from(channel + '\n' + data).toString('base64')}@`

const pusher: Protocol = {
  url: (port) => `ws://127.0.0.1:${port}/app/${FUZZ_APP.key}?protocol=7`,
  isGreeting: (text) => text.startsWith('{"event":"pusher:connection_established"'),
  sentinel: (n) => `{"event":"pusher:subscribe","data":{"channel":"#sentinel-${n}"}}`,
  isSentinelReply: (text, n) => text.startsWith(`{"event":"pusher:subscription_error","channel":"#sentinel-${n}"`),
  prepare: (text, greeting) => {
    if (!text.includes('"@SIGN:')) return text
    const socketId = (JSON.parse((JSON.parse(greeting) as { data: string }).data) as { socket_id: string }).socket_id
    return text.replace(SIGN, (_all, kind: string, encoded: string) => {
      const [channel, data] = splitOnce(Buffer.from(encoded, 'base64').toString())
      const toSign = kind === 'user' ? `${socketId}::user::${data}` : data === '' ? `${socketId}:${channel}` : `${socketId}:${channel}:${data}`
      return JSON.stringify(FUZZ_APP.key + ':' + createHmac('sha256', FUZZ_APP.secret).update(toSign).digest('hex'))
    })
  },
}

function splitOnce(text: string): [string, string] {
  const index = text.indexOf('\n')
  return [text.slice(0, index), text.slice(index + 1)]
}

const channel = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'watch',
      'public-a',
      'private-a',
      'presence-a',
      'private-encrypted-a',
      'cache-a',
      'private-cache-a',
      '#server-to-user-u1',
      '',
      'a'.repeat(201),
    ),
  },
  { weight: 1, arbitrary: edgyString },
)
/** JSON text for channel_data / user_data: members of any shape, some nested past the limit. */
const memberText = fc.oneof(
  fc
    .record({ user_id: fc.oneof(fc.constantFrom('u1', '__proto__', 'constructor', ''), fc.integer(), edgyString, anyValue), user_info: fc.option(anyValue) })
    .map((member) => JSON.stringify(member)),
  fc
    .record({
      id: fc.oneof(fc.constantFrom('u1', '__proto__', ''), fc.integer(), edgyString, anyValue),
      user_info: fc.option(anyValue),
      watchlist: fc.option(anyValue),
    })
    .map((user) => JSON.stringify(user)),
  fc.integer({ min: MAX_JSON_DEPTH - 2, max: 1200 }).map((depth) => {
    const nest = nestedText(depth, ['[', '{"a":'])
    return `{"user_id":"u1","id":"u1","user_info":${nest.open}${nest.close}}`
  }),
  edgyString,
)
const signedSubscribe = fc.tuple(channel, fc.option(memberText)).map(([name, channelData]) => ({
  channel: name,
  auth: signMarker('channel', name, channelData ?? ''),
  ...(channelData === null ? {} : { channel_data: channelData }),
}))
const signin = memberText.map((userData) => ({ user_data: userData, auth: signMarker('user', '', userData) }))
const data = fc.oneof(
  { weight: 3, arbitrary: anyValue },
  {
    weight: 2,
    arbitrary: fc.record(
      { channel, auth: fc.option(fc.oneof(edgyString, anyValue)), channel_data: fc.option(fc.oneof(memberText, anyValue)) },
      { requiredKeys: [] },
    ),
  },
  { weight: 3, arbitrary: signedSubscribe },
  { weight: 1, arbitrary: signin },
  // Pusher's double encoding: data as the JSON text of the object.
  { weight: 1, arbitrary: fc.oneof(signedSubscribe, signin).map((value) => JSON.stringify(value)) },
)
const frames = frameCases(
  envelopes(
    [
      'pusher:subscribe',
      'pusher:unsubscribe',
      'pusher:signin',
      'pusher:ping',
      'pusher:pong',
      'client-x',
      'client-__proto__',
      'pusher:error',
      'pusher_internal:x',
      'nope',
    ],
    ['channel', 'channel', 'data', 'user_id'],
    data,
  ),
)

/** What a frame of valid, shallow JSON may cause: replies of the protocol, and a 4009 close for a refused sign-in. */
const allowedEvents = new Set([
  'pusher_internal:subscription_succeeded',
  'pusher:subscription_error',
  'pusher:pong',
  'pusher:signin_success',
  'pusher:cache_miss',
  'pusher_internal:member_added',
  'pusher_internal:member_removed',
])
const allowedErrorCodes = new Set(['null', '4009', '4301', '4302'])
const DEEP_MESSAGE = `The message is nested deeper than ${MAX_JSON_DEPTH} levels.`

function labelOf(text: string): string {
  const frame = JSON.parse(text) as { event: string; data?: { code?: number | null; message?: string } }
  if (frame.event !== 'pusher:error') return frame.event
  return `pusher:error:${frame.data?.code ?? null}${frame.data?.message === DEEP_MESSAGE ? ':deep' : ''}`
}

function judgePusher(frame: FrameCase, answer: Answer): { label: string; ok: boolean } {
  // The server's own activity check (pusher:ping) may come at any time, like the observers' beacons.
  const labels = answer.frames.map(labelOf).filter((label) => label !== 'beacon' && label !== 'pusher:ping')
  const label = [...labels, ...(answer.close === undefined ? [] : [`close:${answer.close}`])].join(' ') || 'silence'
  const only = (...expected: string[]): boolean => label === expected.join(' ')
  // Whatever the frame holds, past maxPayload it is refused by size alone.
  const kind = answer.bytes > FUZZ_MAX_PAYLOAD ? 'oversize' : frame.kind
  switch (kind) {
    case 'binary':
      return { label, ok: only('pusher:error:null') }
    case 'invalid-utf8':
      return { label, ok: only('close:1007') }
    case 'oversize':
      // 1006 when the close met the rest of the large frame still being written (see native.test.ts).
      return { label, ok: only('close:1009') || only('close:1006') }
    case 'deep':
      return { label, ok: only('pusher:error:4301:deep') }
  }
  const depth = parsedDepth((frame as { text: string }).text)
  if (depth === undefined) return { label, ok: only('pusher:error:null') || only('pusher:error:4301:deep') }
  if (depth > MAX_JSON_DEPTH) return { label, ok: only('pusher:error:4301:deep') }
  const ok =
    (answer.close === undefined || answer.close === 4009) &&
    labels.every((one) => allowedEvents.has(one) || (one.startsWith('pusher:error:') && allowedErrorCodes.has(one.slice(13))))
  return { label, ok }
}

t.test('Pusher endpoint: every generated frame gets its documented answer, and the server lives', async (t) => {
  const result = await fuzzWebSocket('pusher', pusher, frames, judgePusher, 2)
  t.comment(result.summary)
  if (RUNS >= 10_000) process.stderr.write(result.summary + '\n')
  t.equal(result.crashes, 0, 'no crash')
  t.equal(result.stats.unexpected, 0, 'no unexpected answer')
  t.equal(result.stats.tried, RUNS)
  t.ok(result.heapGrowth < 64 * 1024 * 1024, 'the heap stays bounded')
})
