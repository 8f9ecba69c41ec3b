/**
 * Templates of the `formatted` algorithm, e.g. `WB{YYYYMMDD}{SEQ:8}` → `WB2026112500000042`.
 *
 * Tokens: `{YYYY} {MM} {DD} {HH} {mm} {ss} {YYYYMMDD}` (UTC, zero-padded), `{DC}` (one
 * digit, 0–7), `{WORKER}` (three digits, 000–255), `{SEQ}` (the biz_tag's segment
 * counter, unpadded) and `{SEQ:n}` (zero-padded to n digits, 1 ≤ n ≤ 20; a longer value is
 * printed in full, never truncated). Anything else, including unknown `{…}`, is literal.
 *
 * Why two equal IDs of one template always come from one counter value. Every part but
 * the counter renders at a width that does not depend on the input: a literal is itself,
 * a date field has its fixed width (years 0–9999), `{DC}` one digit, `{WORKER}` three. A
 * counter part of width n renders max(n, d) characters, d being the counter's digit
 * count. So take two renderings that are equal strings. Equal lengths give equal sums
 * Σ max(n_i, d) over the counter parts; each term is non-decreasing in d, so every term
 * is equal: each counter part has the same length in both. The first counter part then
 * starts at the same offset (only fixed widths precede it) and spans the same
 * characters, which are the counter zero-padded: the same text, the same counter. (With
 * `{WORKER}` unpadded, `W{WORKER}{SEQ}` gave `W11500` for worker 1 / 1500 and for worker
 * 11 / 500.) A template without a counter part is refused. The counter itself never
 * repeats within a biz_tag: its datacenters own disjoint ranges, and `segment` and
 * `formatted` draw distinct values from it.
 *
 * A template is compiled once (when a biz_tag is configured or first used) into a list
 * of parts, so rendering is a loop of string appends. `read` goes the other way, for parse:
 * whether a string can be a rendering, and of which counter.
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
  /** Whether rendering needs this node's worker id (`{WORKER}`). */
  readonly usesWorker: boolean
}

export interface RenderInput {
  /** The counter value, a non-negative safe integer. */
  readonly seq: number
  /** Unix ms; date tokens use its UTC calendar fields. */
  readonly nowMs: number
  /** 0–7 (`Snowflake.MAX_DATACENTER_ID`): one digit. */
  readonly datacenterId: number
  /** 0–255 (`Snowflake.MAX_WORKER_ID`): three digits. */
  readonly workerId: number
}

// Known tokens, plus any `{SEQ:…}` so a malformed width is reported rather than
// silently rendered as literal text.
const tokenPattern = /\{(YYYYMMDD|YYYY|MM|DD|HH|mm|ss|SEQ|DC|WORKER)\}|\{SEQ:([^}]*)\}/g

const invalid = (template: string, why: string): Result.Result<never, InvalidRequest> =>
  Result.fail(new InvalidRequest({ message: `format template ${JSON.stringify(template)}: ${why}`, details: { template } }))

export const compile = (template: string): Result.Result<CompiledTemplate, InvalidRequest> => {
  if (template.length > MAX_TEMPLATE_LENGTH) {
    return invalid(template, `longer than ${MAX_TEMPLATE_LENGTH} characters`)
  }
  const parts: Array<Part> = []
  let hasSeq = false
  let usesDate = false
  let usesWorker = false
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
      usesWorker = true
      parts.push({ _tag: "Worker" })
    } else {
      usesDate = true
      parts.push({ _tag: "Date", field: token as DateField })
    }
  }
  if (last < template.length) parts.push({ _tag: "Literal", text: template.slice(last) })
  if (!hasSeq) {
    // Without the counter every ID of a day/second would be identical.
    return invalid(template, "needs a {SEQ} or {SEQ:n} token, the only part that tells two IDs apart")
  }
  return Result.succeed({ source: template, parts, usesDate, usesWorker })
}

/**
 * Whether every rendering is a plain decimal number (no literal other than digits), so it
 * could equal a `segment` or `snowflake` ID of the same biz_tag's fallback chain.
 */
export const rendersOnlyDigits = (compiled: CompiledTemplate): boolean =>
  compiled.parts.every((part) => part._tag !== "Literal" || /^[0-9]*$/.test(part.text))

const pad2 = (n: number): string => (n < 10 ? "0" + n : String(n))
const pad3 = (n: number): string => (n < 10 ? "00" + n : n < 100 ? "0" + n : String(n))
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
        out += pad3(input.workerId)
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

/** What a fixed-width token renders (dates as UTC calendar fields), anchored. */
const fixedShape: Record<DateField | "DC" | "WORKER", RegExp> = {
  YYYY: /^[0-9]{4}$/,
  MM: /^(?:0[1-9]|1[0-2])$/,
  DD: /^(?:0[1-9]|[12][0-9]|3[01])$/,
  HH: /^(?:[01][0-9]|2[0-3])$/,
  mm: /^[0-5][0-9]$/,
  ss: /^[0-5][0-9]$/,
  YYYYMMDD: /^[0-9]{4}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])$/,
  DC: /^[0-7]$/,
  WORKER: /^(?:[01][0-9]{2}|2[0-4][0-9]|25[0-5])$/
}

const fixedWidth: Record<DateField | "DC" | "WORKER", number> = {
  YYYY: 4,
  MM: 2,
  DD: 2,
  HH: 2,
  mm: 2,
  ss: 2,
  YYYYMMDD: 8,
  DC: 1,
  WORKER: 3
}

const significant = /^[1-9][0-9]*$/
const zeros = /^0*$/

/**
 * Reads `id` as a rendering of `compiled` whose counter has `digits` digits: the counter
 * in decimal, or undefined when `id` is not such a rendering. Every part then has a known
 * width (see the module's comment), so this is one left-to-right walk.
 */
const readWithDigits = (compiled: CompiledTemplate, id: string, digits: number): string | undefined => {
  let at = 0
  let seq: string | undefined
  for (const part of compiled.parts) {
    if (part._tag === "Literal") {
      if (!id.startsWith(part.text, at)) return undefined
      at += part.text.length
      continue
    }
    if (part._tag === "Seq") {
      const width = Math.max(part.width, digits)
      const chunk = id.slice(at, at + width)
      const value = chunk.slice(width - digits)
      if (chunk.length !== width || !zeros.test(chunk.slice(0, width - digits)) || !significant.test(value)) return undefined
      if (seq !== undefined && seq !== value) return undefined
      seq = value
      at += width
      continue
    }
    const token = part._tag === "Date" ? part.field : part._tag === "Datacenter" ? "DC" : "WORKER"
    const width = fixedWidth[token]
    if (!fixedShape[token].test(id.slice(at, at + width))) return undefined
    at += width
  }
  return at === id.length ? seq : undefined
}

/**
 * Reads `id` as a rendering of `compiled` with a counter of at most `maxDigits` digits: the
 * counter in decimal, or undefined when `id` cannot be one of its renderings (a literal part
 * differs, a token has the wrong digits or width, two counter parts disagree).
 */
export const read = (compiled: CompiledTemplate, id: string, maxDigits: number): string | undefined => {
  for (let digits = 1; digits <= maxDigits; digits++) {
    const seq = readWithDigits(compiled, id, digits)
    if (seq !== undefined) return seq
  }
  return undefined
}
