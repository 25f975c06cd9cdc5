/**
 * "Did you mean ...?" for option names: the valid name nearest to a mistyped one, by the
 * Damerau-Levenshtein distance (optimal string alignment: insertions, deletions, substitutions
 * and swaps of two neighbours each cost 1), ignoring case, so that `presenseEvents`,
 * `intervall`, `secert` and `maxpayload` all find their option.
 */

/** Edits (insert, delete, substitute, swap two adjacent characters) that turn `a` into `b`. */
export function editDistance(a: string, b: string): number {
  // Three rows of the dynamic-programming table: the swap looks two rows back.
  let twoBack: number[] = []
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, twoBack[j - 2]! + 1)
      current.push(best)
    }
    twoBack = previous
    previous = current
  }
  return previous[b.length]!
}

/**
 * The candidate nearest to `name`, or undefined when none is close: at most one edit for names
 * of up to five characters, two from six, three from nine, ... (a different word is no typo).
 * Of equally near candidates, the first wins.
 */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  const wanted = name.toLowerCase()
  const allowed = Math.max(1, Math.floor(name.length / 3))
  let best: string | undefined
  let bestDistance = allowed + 1
  for (const candidate of candidates) {
    const distance = editDistance(wanted, candidate.toLowerCase())
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best
}
