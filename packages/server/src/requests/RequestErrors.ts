/**
 * The 400s of a request's shape, the same on every interface: a body over the limit, and
 * a request part its schema rejected, naming each offending field and why.
 */
import { Errors } from "@idgen/core"
import { SchemaIssue } from "effect"

export const tooLarge = (maxBytes: number, actual: number | undefined) =>
  new Errors.InvalidRequest({
    message: `Request body too large; the limit is ${maxBytes} bytes`,
    details: { location: "body", max_bytes: maxBytes, ...(actual === undefined ? {} : { actual_bytes: actual }) }
  })

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

/** `["rate_limit", "burst"]` → `rate_limit.burst`; `["fallback", 1]` → `fallback[1]`. */
const fieldOf = (path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined): string => {
  let out = ""
  for (const segment of path ?? []) {
    const key = typeof segment === "object" ? segment.key : segment
    out += typeof key === "number" ? `[${key}]` : out === "" ? String(key) : `.${String(key)}`
  }
  return out
}

/** The 400 for a request part (`path`, `query`, `headers`, `body`) its schema rejected. */
export const invalidRequestFrom = (location: string, issue: SchemaIssue.Issue): Errors.InvalidRequest => {
  const errors = formatIssues(issue).issues.map((item) => ({
    field: fieldOf(item.path),
    message: item.path === undefined || item.path.length === 0 ? describeRoot(item.message) : describeField(item.message)
  }))
  const first = errors[0]
  const summary = first === undefined
    ? "invalid"
    : (first.field === "" ? first.message : `${first.field}: ${first.message}`) +
      (errors.length > 1 ? ` (and ${errors.length - 1} more)` : "")
  return new Errors.InvalidRequest({ message: `Invalid request ${location}: ${summary}`, details: { location, errors } })
}

/** Errors about the whole body: say plainly that a JSON object was expected. */
const describeRoot = (message: string): string => {
  if (message === malformedJson) return "malformed JSON"
  const expected = /^Expected ([A-Za-z]+)/.exec(message)
  return expected === null ? message : `expected a JSON object (${expected[1]})`
}

/** Per-field messages in plain words. */
const describeField = (message: string): string =>
  message === "Missing key" ? "is required" : message === excessProperty ? "unknown field" : message

/** Schema's message for a key the struct does not declare (bodies are decoded with `onExcessProperty: "error"`). */
const excessProperty = "Expected no excess property"

/** The message HttpApi gives a body that is not JSON at all. */
export const malformedJson = "Expected a valid JSON body"

