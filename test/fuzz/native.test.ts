/**
 * Property-based fuzzing of the native endpoint: generated frames of every class, each answer
 * checked against the documented one for its class. `FUZZ_RUNS` sets the number of cases.
 */
import t from 'tap'
import { ErrorCode, MAX_JSON_DEPTH } from '../../shared/index.js'
import { envelopes, frameCases, parsedDepth, anyValue, type FrameCase } from './frames.js'
import { RUNS } from './harness.js'
import { FUZZ_MAX_PAYLOAD } from './limits.js'
import { fuzzWebSocket } from './run-ws.js'
import type { Answer, Protocol } from './ws-driver.js'
import fc from 'fast-check'

const SENTINEL_BASE = 2 ** 40

const native: Protocol = {
  url: (port) => `ws://127.0.0.1:${port}/ws`,
  isGreeting: (text) => text.startsWith('{"event":"connected"'),
  sentinel: (n) => `{"event":"echo","id":${SENTINEL_BASE + n}}`,
  isSentinelReply: (text, n) => text === `{"event":"ack","id":${SENTINEL_BASE + n}}`,
}

const rooms = fc.array(fc.oneof(fc.constantFrom('watch', 'a', ''), fc.string({ maxLength: 3 })), { maxLength: 3 })
const data = fc.oneof(
  anyValue,
  fc.record({ rooms }),
  fc.record({ n: fc.oneof(fc.integer(), anyValue), s: fc.oneof(fc.string({ maxLength: 12 }), anyValue) }),
  fc.record({ version: fc.constantFrom(1, 2), publicKey: fc.string(), nonce: fc.string() }),
)
const frames = frameCases(
  envelopes(
    ['echo', 'typed', 'fail', 'refuse', 'join', 'leave', 'authenticate', 'heartbeat', 'key-exchange', 'encrypted', 'ack', 'error', 'connected', 'nope'],
    ['id', 'id', 'id', 'data', 'room'],
    data,
  ),
)

/** Every code the `error` event may carry for input a client sent; `too_deep` only when the frame is too deep. */
const inputErrors = new Set<string>([...Object.values(ErrorCode), 'refused'].filter((code) => code !== ErrorCode.TooDeep))

function labelOf(text: string): string {
  const frame = JSON.parse(text) as { event: string; data?: { code?: string } }
  return frame.event === 'error' ? `error:${frame.data?.code}` : frame.event
}

export function judgeNative(frame: FrameCase, answer: Answer): { label: string; ok: boolean } {
  const labels = answer.frames.map(labelOf).filter((label) => label !== 'heartbeat' && label !== 'beacon')
  const label = [...labels, ...(answer.close === undefined ? [] : [`close:${answer.close}`])].join(' ') || 'silence'
  const only = (...expected: string[]): boolean => label === expected.join(' ')
  // Whatever the frame holds, past maxPayload it is refused by size alone.
  const kind = answer.bytes > FUZZ_MAX_PAYLOAD ? 'oversize' : frame.kind
  switch (kind) {
    case 'binary':
      return { label, ok: only('error:binary_not_supported', 'close:1003') }
    case 'invalid-utf8':
      return { label, ok: only('close:1007') }
    case 'oversize':
      // 1009; or 1006 when the server's close met the rest of the large frame still being
      // written and the connection was reset (the run checks that the server itself is alive).
      return { label, ok: only('close:1009') || only('close:1006') }
    case 'deep':
      return { label, ok: only('error:too_deep') }
  }
  const depth = parsedDepth((frame as { text: string }).text)
  if (depth === undefined) return { label, ok: only('error:bad_json') || only('error:too_deep') }
  if (depth > MAX_JSON_DEPTH) return { label, ok: only('error:too_deep') }
  // Any documented error or ack, never a close: bad input leaves the connection open.
  const ok =
    answer.close === undefined && labels.every((one) => one === 'ack' || one === 'membership' || (one.startsWith('error:') && inputErrors.has(one.slice(6))))
  return { label, ok }
}

t.test('native endpoint: every generated frame gets its documented answer, and the server lives', async (t) => {
  const result = await fuzzWebSocket('native', native, frames, judgeNative, 1)
  t.comment(result.summary)
  if (RUNS >= 10_000) process.stderr.write(result.summary + '\n')
  t.equal(result.crashes, 0, 'no crash')
  t.equal(result.stats.unexpected, 0, 'no unexpected answer')
  t.equal(result.stats.tried, RUNS)
  t.ok(result.heapGrowth < 64 * 1024 * 1024, 'the heap stays bounded')
})
