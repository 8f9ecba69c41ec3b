/**
 * Templates of the `formatted` algorithm, e.g. `WB{YYYYMMDD}{SEQ:8}` → `WB2026112500000042`.
 *
 * Tokens: `{YYYY} {MM} {DD} {HH} {mm} {ss} {YYYYMMDD}` (UTC, zero-padded), `{SEQ}` (the
 * biz_tag's segment counter, unpadded), `{SEQ:n}` (zero-padded to n digits, 1 ≤ n ≤ 20;
 * a longer value is printed in full, never truncated, so distinct counters always give
 * distinct IDs), `{DC}`, `{WORKER}`. Anything else, including unknown `{…}`, is literal.
 *
 * A template is compiled once (when a biz_tag is configured or first used) into a list
 * of parts, so rendering is a loop of string appends.
 */
import { Result } from "effect"
import { InvalidRequest } from "../Errors.ts"

export const MAX_TEMPLATE_LENGTH = 128
export const MAX_SEQ_WIDTH = 20

type DateField = "YYYY" | "MM" | "DD" | "HH" | "mm" | "ss" | "YYYYMMDD"

export type Part =
  | { readonly _tag: "Literal"; readonly text: string }
  | { readonly _tag: "Seq"; readonly width: number }
  | { readonly _tag: "Date"; readonly field: DateField }
  | { readonly _tag: "Datacenter" }
  | { readonly _tag: "Worker" }

export interface CompiledTemplate {
  readonly source: string
  readonly parts: ReadonlyArray<Part>
  /** Whether rendering needs the date (skips the date arithmetic when it does not). */
  readonly usesDate: boolean
}

export interface RenderInput {
  /** The counter value, a non-negative safe integer. */
  readonly seq: number
  /** Unix ms; date tokens use its UTC calendar fields. */
  readonly nowMs: number
  readonly datacenterId: number
  readonly workerId: number
}

// Known tokens, plus any `{SEQ:…}` so a malformed width is reported rather than
// silently rendered as literal text.
const tokenPattern = /\{(YYYYMMDD|YYYY|MM|DD|HH|mm|ss|SEQ|DC|WORKER)\}|\{SEQ:([^}]*)\}/g

const invalid = (template: string, message: string): Result.Result<never, InvalidRequest> =>
  Result.fail(new InvalidRequest({ message, details: { template } }))

export const compile = (template: string): Result.Result<CompiledTemplate, InvalidRequest> => {
  if (template.length > MAX_TEMPLATE_LENGTH) {
    return invalid(template, `format template longer than ${MAX_TEMPLATE_LENGTH} characters`)
  }
  const parts: Array<Part> = []
  let hasSeq = false
  let usesDate = false
  let last = 0
  for (const match of template.matchAll(tokenPattern)) {
    if (match.index > last) parts.push({ _tag: "Literal", text: template.slice(last, match.index) })
    last = match.index + match[0].length
    const [, token, width] = match
    if (width !== undefined) {
      const n = /^[0-9]{1,2}$/.test(width) ? Number(width) : Number.NaN
      if (!(n >= 1 && n <= MAX_SEQ_WIDTH)) {
        return invalid(template, `{SEQ:n} needs a width n between 1 and ${MAX_SEQ_WIDTH}, got "${width}"`)
      }
      hasSeq = true
      parts.push({ _tag: "Seq", width: n })
    } else if (token === "SEQ") {
      hasSeq = true
      parts.push({ _tag: "Seq", width: 0 })
    } else if (token === "DC") {
      parts.push({ _tag: "Datacenter" })
    } else if (token === "WORKER") {
      parts.push({ _tag: "Worker" })
    } else {
      usesDate = true
      parts.push({ _tag: "Date", field: token as DateField })
    }
  }
  if (last < template.length) parts.push({ _tag: "Literal", text: template.slice(last) })
  if (!hasSeq) {
    // Without the counter every ID of a day/second would be identical.
    return invalid(template, "format template needs a {SEQ} or {SEQ:n} token")
  }
  return Result.succeed({ source: template, parts, usesDate })
}

const pad2 = (n: number): string => (n < 10 ? "0" + n : String(n))
const pad4 = (n: number): string => String(n).padStart(4, "0")

export const render = (compiled: CompiledTemplate, input: RenderInput): string => {
  let date: Date | undefined
  if (compiled.usesDate) date = new Date(input.nowMs)
  let out = ""
  for (const part of compiled.parts) {
    switch (part._tag) {
      case "Literal":
        out += part.text
        break
      case "Seq":
        out += part.width === 0 ? String(input.seq) : String(input.seq).padStart(part.width, "0")
        break
      case "Datacenter":
        out += String(input.datacenterId)
        break
      case "Worker":
        out += String(input.workerId)
        break
      case "Date":
        out += dateField(date!, part.field)
        break
    }
  }
  return out
}

const dateField = (d: Date, field: DateField): string => {
  switch (field) {
    case "YYYY":
      return pad4(d.getUTCFullYear())
    case "MM":
      return pad2(d.getUTCMonth() + 1)
    case "DD":
      return pad2(d.getUTCDate())
    case "HH":
      return pad2(d.getUTCHours())
    case "mm":
      return pad2(d.getUTCMinutes())
    case "ss":
      return pad2(d.getUTCSeconds())
    case "YYYYMMDD":
      return pad4(d.getUTCFullYear()) + pad2(d.getUTCMonth() + 1) + pad2(d.getUTCDate())
  }
}
