/**
 * Nesting depth of JSON text, checked before anything recursive sees it. `JSON.parse` copes with
 * any depth, but `JSON.stringify`, schema checks and application code walk values recursively
 * and throw `RangeError` (or exhaust the stack) on a value nested a few thousand levels deep,
 * which a frame of a few kilobytes can carry. Every edge that takes JSON from a peer (both
 * WebSocket protocols, the Pusher HTTP API, presence `channel_data` and sign-in `user_data`, the
 * client SDK) refuses text nested deeper than this before parsing it.
 */

/** The deepest nesting of objects and arrays accepted, counting the outermost one (a frame's envelope) as 1. */
export const MAX_JSON_DEPTH = 64

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d

/**
 * Whether `text` opens more than `maxDepth` objects or arrays inside one another, brackets in
 * strings not counted. One linear pass without allocation; strings are skipped with `indexOf`.
 * Text that is not JSON gives an answer that means nothing, and `JSON.parse` refuses it anyway.
 */
export function exceedsJsonDepth(text: string, maxDepth: number = MAX_JSON_DEPTH): boolean {
  const length = text.length
  // Too short to hold maxDepth + 1 opening brackets: the common small frame costs nothing.
  if (length <= maxDepth) return false
  let depth = 0
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      let end = i
      for (;;) {
        end = text.indexOf('"', end + 1)
        // An unterminated string: not JSON, and nothing after it can open a level.
        if (end < 0) return false
        // The quote ends the string unless an odd number of backslashes escapes it. The run
        // lies after the previous quote, so all runs together are counted once: still linear.
        let backslashes = 0
        for (let j = end - 1; text.charCodeAt(j) === BACKSLASH; j--) backslashes++
        if ((backslashes & 1) === 0) break
      }
      i = end
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > maxDepth) return true
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) {
      depth--
    }
  }
  return false
}
