/**
 * Generated WebSocket frames, each tagged with the class of input it is, so that a test can
 * check that the answer is the one documented for that class.
 */
import fc from 'fast-check'
import { MAX_JSON_DEPTH } from '../../shared/index.js'
import { FUZZ_MAX_PAYLOAD } from './limits.js'

export type FrameCase =
  /** Valid JSON of any shape; its depth decides whether it is too deep. */
  | { kind: 'json'; text: string }
  /** More than MAX_JSON_DEPTH levels outside strings, complete or truncated. */
  | { kind: 'deep'; text: string }
  /** Text that is probably not JSON: random characters, truncated frames. */
  | { kind: 'garbage'; text: string }
  /** A text frame longer than maxPayload. */
  | { kind: 'oversize'; text: string }
  | { kind: 'binary'; bytes: Uint8Array }
  /** A text frame whose bytes are not UTF-8. */
  | { kind: 'invalid-utf8'; bytes: Uint8Array }

/** Strings with the characters that break naive code: lone surrogates, NUL, separators, BOM, quotes, brackets. */
export const edgyString = fc.string({
  unit: fc.oneof(
    { weight: 4, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
    { weight: 2, arbitrary: fc.constantFrom('\ud800', '\udfff', '\u0000', '\u2028', '\u2029', '\ufeff', '\uffff', '"', '\\', '[', ']', '{', '}', ':', ',') },
    { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty') },
  ),
  maxLength: 40,
})

/** Keys that poison naive objects, and ordinary ones. */
const key = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'id', 'event', 'data', 'channel', 'rooms', 'n', 's'),
  edgyString,
)

/** Any JSON value, shallow enough to stay under the depth limit inside an envelope. */
export const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: fc.jsonValue({ maxDepth: 5 }) },
  { weight: 2, arbitrary: edgyString },
  { weight: 1, arbitrary: fc.constantFrom(0, -0, 1e308, -1e308, 5e-324, 2 ** 53, -(2 ** 53) - 2, 1.5, null, true, false, '', [], {}) },
  { weight: 1, arbitrary: fc.dictionary(key, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }) },
)

/** JSON text of an object with these entries, duplicates and `__proto__` kept as written. */
export function objectText(entries: ReadonlyArray<readonly [string, string]>): string {
  return '{' + entries.map(([name, valueText]) => JSON.stringify(name) + ':' + valueText).join(',') + '}'
}

/** `depth` levels of nesting from a cycle of opening units, with the matching closers. */
export function nestedText(depth: number, units: readonly string[], leaf = 'null'): { open: string; close: string } {
  const closers: Record<string, string> = { '[': ']', '{"a":': '}', '[1,': ']', '{"__proto__":': '}', '[{"x":': '}]' }
  let open = ''
  let close = ''
  for (let level = 0; level < depth; ) {
    const unit = units[level % units.length]!
    open += unit
    close = closers[unit]! + close
    level += unit === '[{"x":' ? 2 : 1
  }
  return { open: open + leaf, close }
}

const units = fc.array(fc.constantFrom('[', '{"a":', '[1,', '{"__proto__":'), { minLength: 1, maxLength: 3 })

/** Envelopes of one protocol: known event names and fields, values of any type. */
export function envelopes(eventNames: readonly string[], fields: readonly string[], dataOf: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  const event = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...eventNames) }, { weight: 1, arbitrary: edgyString })
  const field = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...fields).chain((name) => fc.tuple(fc.constant(name), name === 'id' ? fc.oneof(fc.nat(), anyValue) : anyValue)) },
    { weight: 6, arbitrary: fc.tuple(fc.constant('data'), dataOf) },
    { weight: 1, arbitrary: fc.tuple(key, anyValue) },
  )
  // Mostly well-formed (an event and its data, as clients send them) so the protocol's own paths
  // are reached; the rest with any fields, missing events and values of the wrong type.
  const wellFormed = fc.tuple(fc.constantFrom(...eventNames), dataOf, fc.option(field, { freq: 2 })).map(([name, data, extra]) => {
    const entries: Array<readonly [string, string]> = [
      ['event', JSON.stringify(name)],
      ['data', JSON.stringify(data) ?? 'null'],
    ]
    if (extra !== null) entries.push([extra[0], JSON.stringify(extra[1]) ?? 'null'])
    return objectText(entries)
  })
  const anyShape = fc
    .record({ event: fc.option(event, { freq: 8 }), eventValue: anyValue, fields: fc.array(field, { maxLength: 3 }) })
    .map(({ event: name, eventValue, fields: extra }) => {
      const entries: Array<readonly [string, string]> = [['event', name === null ? (JSON.stringify(eventValue) ?? 'null') : JSON.stringify(name)]]
      for (const [fieldName, value] of extra) entries.push([fieldName, JSON.stringify(value) ?? 'null'])
      return objectText(entries)
    })
  return fc.oneof({ weight: 3, arbitrary: wellFormed }, { weight: 2, arbitrary: anyShape })
}

/** Frames of every class around one protocol's envelopes. */
export function frameCases(envelope: fc.Arbitrary<string>): fc.Arbitrary<FrameCase> {
  const json: fc.Arbitrary<FrameCase> = fc
    .oneof(
      { weight: 8, arbitrary: envelope },
      { weight: 2, arbitrary: anyValue.map((value) => JSON.stringify(value) ?? 'null') },
      // Nesting right up to the limit, envelope included, or just past it: both sides of the edge.
      {
        weight: 2,
        arbitrary: fc.tuple(fc.integer({ min: MAX_JSON_DEPTH - 3, max: MAX_JSON_DEPTH + 2 }), units, envelope).map(([depth, cycle, text]) => {
          const nest = nestedText(depth - 1, cycle)
          return text.slice(0, -1) + (text.length > 2 ? ',' : '') + '"nest":' + nest.open + nest.close + '}'
        }),
      },
    )
    .map((text) => ({ kind: 'json', text }))
  const deep: fc.Arbitrary<FrameCase> = fc
    .tuple(fc.oneof(fc.integer({ min: MAX_JSON_DEPTH + 1, max: 200 }), fc.integer({ min: 200, max: 1900 })), units, envelope, fc.boolean(), fc.nat())
    .map(([depth, cycle, text, truncate, cut]): { kind: 'deep'; text: string } => {
      const nest = nestedText(depth, cycle)
      let frame = text.slice(0, -1) + (text.length > 2 ? ',' : '') + '"data":' + nest.open + nest.close + '}'
      // Cut after the opening levels: still too deep, and no longer JSON.
      if (truncate) frame = frame.slice(0, frame.length - (cut % (nest.close.length + 1)) - 1)
      return { kind: 'deep', text: frame.slice(0, FUZZ_MAX_PAYLOAD) }
    })
    .filter((frame) => Buffer.byteLength(frame.text) <= FUZZ_MAX_PAYLOAD && countsAsDeep(frame.text))
  const garbage: fc.Arbitrary<FrameCase> = fc
    .oneof(
      edgyString,
      fc.string({ unit: fc.constantFrom('{', '}', '[', ']', '"', ':', ',', '\\', 'a', '1', ' ', 'true', 'null'), maxLength: 60 }),
      fc.tuple(envelope, fc.nat()).map(([text, cut]) => text.slice(0, cut % Math.max(1, text.length))),
      fc.constantFrom(
        '',
        ' ',
        'null',
        '""',
        '{',
        '}',
        '[]',
        '{"event":',
        '\ufeff{"event":"echo"}',
        '{"event":"echo"}garbage',
        '{"event":"echo"}{"event":"echo"}',
      ),
    )
    .map((text) => ({ kind: 'garbage', text }))
  const size: fc.Arbitrary<FrameCase> = fc.integer({ min: FUZZ_MAX_PAYLOAD - 4, max: FUZZ_MAX_PAYLOAD + 4 }).map((bytes): FrameCase => {
    const head = '{"event":"echo","data":"'
    const text = head + 'x'.repeat(Math.max(0, bytes - head.length - 2)) + '"}'
    return Buffer.byteLength(text) > FUZZ_MAX_PAYLOAD ? { kind: 'oversize', text } : { kind: 'json', text }
  })
  const huge: fc.Arbitrary<FrameCase> = fc
    .integer({ min: FUZZ_MAX_PAYLOAD + 1, max: FUZZ_MAX_PAYLOAD * 16 })
    .map((bytes) => ({ kind: 'oversize', text: '['.repeat(bytes) }))
  const binary: fc.Arbitrary<FrameCase> = fc
    .oneof(
      fc.uint8Array({ maxLength: 64 }),
      envelope.map((text) => new Uint8Array(Buffer.from(text))),
    )
    .map((bytes) => ({ kind: 'binary', bytes }))
  const invalidUtf8: fc.Arbitrary<FrameCase> = fc
    .tuple(
      fc.uint8Array({ maxLength: 32 }),
      fc.constantFrom([0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82]),
      fc.uint8Array({ maxLength: 8 }),
    )
    .map(([before, bad, after]) => ({
      kind: 'invalid-utf8',
      bytes: new Uint8Array([...before.map((byte) => byte & 0x7f), ...bad, ...after.map((byte) => byte & 0x7f)]),
    }))
  return fc.oneof(
    { weight: 10, arbitrary: json },
    { weight: 3, arbitrary: deep },
    { weight: 3, arbitrary: garbage },
    { weight: 1, arbitrary: size },
    { weight: 1, arbitrary: huge },
    { weight: 1, arbitrary: binary },
    { weight: 1, arbitrary: invalidUtf8 },
  )
}

/**
 * The reference for "too deep", independent of the code under test: parse it and measure the
 * value (iteratively); for text that is not JSON, undefined (either answer is documented).
 */
export function parsedDepth(text: string): number | undefined {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  let deepest = 0
  const stack: Array<[unknown, number]> = [[value, 1]]
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!
    if (item === null || typeof item !== 'object') continue
    deepest = Math.max(deepest, depth)
    for (const child of Object.values(item)) stack.push([child, depth + 1])
  }
  return deepest
}

/** A generated deep frame must really open more than the limit before any cut (strings hold no brackets here). */
function countsAsDeep(text: string): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (inString) {
      if (c === '\\') i++
      else if (c === '"') inString = false
    } else if (c === '"') inString = true
    else if (c === '[' || c === '{') {
      if (++depth > MAX_JSON_DEPTH) return true
    } else if (c === ']' || c === '}') depth--
  }
  return false
}
