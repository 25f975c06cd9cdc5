/** The depth scanner against an independent reference: parse, then measure the value. */
import fc from 'fast-check'
import t from 'tap'
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../shared/index.js'
import { edgyString, parsedDepth } from './frames.js'

const value = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    edgyString,
    fc.double(),
    fc.constant(null),
    fc.array(tie('node'), { maxLength: 3 }),
    fc.dictionary(edgyString, tie('node'), { maxKeys: 3 }),
  ),
})).node

t.test('agrees with the depth of the parsed value, whatever the strings hold', async (t) => {
  fc.assert(
    fc.property(value, fc.integer({ min: 0, max: 8 }), fc.constantFrom(0, 2), (generated, limit, indent) => {
      const text = JSON.stringify(generated, null, indent)
      return exceedsJsonDepth(text, limit) === parsedDepth(text)! > limit
    }),
    { numRuns: 2000 },
  )
  t.pass('2000 values')
})

t.test('edges: strings, escapes, truncation, the default limit', async (t) => {
  const nest = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth)
  t.equal(exceedsJsonDepth(nest(MAX_JSON_DEPTH)), false, 'at the limit')
  t.equal(exceedsJsonDepth(nest(MAX_JSON_DEPTH + 1)), true, 'one past it')
  t.equal(exceedsJsonDepth('['.repeat(MAX_JSON_DEPTH + 1)), true, 'truncated text counts what it opened')
  t.equal(exceedsJsonDepth(JSON.stringify('['.repeat(1000))), false, 'brackets in a string')
  t.equal(exceedsJsonDepth(JSON.stringify(['\\"[', '\\'.repeat(7) + '"' + '{'.repeat(200)])), false, 'escaped quotes and backslash runs')
  t.equal(exceedsJsonDepth(`"\\\\"${nest(100)}`), true, 'an escaped backslash does not escape the closing quote')
  t.equal(exceedsJsonDepth('"' + '['.repeat(1000)), false, 'an unterminated string is not JSON; the parser refuses it')
  t.equal(exceedsJsonDepth(nest(3), 2), true, 'a custom limit')
})
