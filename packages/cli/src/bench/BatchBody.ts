/**
 * The `ids` of a `POST /api/v1/generate/batch` response body, for the load generator.
 *
 * V8's JSON.parse internalizes every string value shorter than 10 characters — segment
 * IDs below 10^9 — through the string table into old space: a body of 1000 fresh such IDs
 * costs several times what one of longer IDs does, and it was most of the HTTP client's
 * CPU per batch-1000 call (≈ 450 of ≈ 650 µs). The body the server writes,
 * `{"ids":["…","…"],"algorithm":…}`, is read here with plain slices, which make ordinary
 * strings; an escape or any other layout goes to JSON.parse. Either way the result is the
 * decoded array.
 */
const head = '{"ids":["'
const quote = 34
const comma = 44
const bracket = 93

export const batchIds = (text: string): ReadonlyArray<string> => {
  if (!text.startsWith(head) || text.includes("\\")) return parsed(text)
  const ids: Array<string> = []
  let pos = head.length
  while (true) {
    const end = text.indexOf('"', pos)
    if (end === -1) return parsed(text)
    ids.push(text.slice(pos, end))
    const next = text.charCodeAt(end + 1)
    if (next === comma && text.charCodeAt(end + 2) === quote) {
      pos = end + 3
    } else if (next === bracket && text.charCodeAt(end + 2) === comma) {
      // The rest (`algorithm`, `count`) is small: JSON.parse checks that the body is JSON.
      JSON.parse(`{${text.slice(end + 3)}`)
      return ids
    } else {
      return parsed(text)
    }
  }
}

const parsed = (text: string): ReadonlyArray<string> => (JSON.parse(text) as { ids: ReadonlyArray<string> }).ids
