/**
 * "Did you mean": the known names closest to a mistyped one, for the CLI's usage errors and
 * the node's warning about IDGEN_* variables nothing reads.
 */

const levenshtein = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]!
}

/** The candidates closest to `input` (at most 2 edits, or a prefix of one). */
export const closest = (input: string, candidates: ReadonlyArray<string>): ReadonlyArray<string> => {
  const scored = candidates
    .map((candidate) => [candidate.startsWith(input) ? 1 : levenshtein(input, candidate), candidate] as const)
    .filter(([distance]) => distance <= 2)
  const best = Math.min(...scored.map(([distance]) => distance))
  return scored.filter(([distance]) => distance === best).map(([, candidate]) => candidate)
}
