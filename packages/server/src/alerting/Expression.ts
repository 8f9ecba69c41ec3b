/**
 * The alert rules' expression language: the subset of PromQL that node-local rules need,
 * with PromQL's meaning, so one rule text works in the node's evaluator and in the
 * Prometheus rule file (`deploy/prometheus/rules/`).
 *
 *   expr     := or
 *   or       := and ("or" and)*
 *   and      := cmp ("and" cmp)*
 *   cmp      := add (("==" | "!=" | ">" | "<" | ">=" | "<=") add)*
 *   add      := mul (("+" | "-") mul)*
 *   mul      := unary (("*" | "/") unary)*
 *   unary    := "-" unary | primary
 *   primary  := number | "(" expr ")" | selector
 *             | ("rate" | "increase" | "delta" | "max_over_time" | "min_over_time" | "avg_over_time") "(" selector "[" duration "]" ")"
 *             | ("sum" | "max" | "min" | "avg" | "count") [("by" | "without") "(" labels ")"] "(" expr ")" [("by" | "without") "(" labels ")"]
 *             | ("abs" | "absent") "(" expr ")"
 *   selector := name ["{" matcher ("," matcher)* "}"]   matcher := label ("=" | "!=" | "=~" | "!~") "string"
 *
 * Semantics as in PromQL: a comparison filters a vector (keeps the left value); vector–vector
 * operators match series with identical label sets; `and`/`or` are set operations on label
 * sets; `rate`/`increase` handle counter resets and need two samples in the window.
 * Histograms appear as their `_bucket{le}`, `_sum` and `_count` series.
 */
import { Data, Result } from "effect"
import { formatDuration, parseDuration } from "../config/Duration.ts"

export type Labels = Readonly<Record<string, string>>

export interface Sample {
  readonly labels: Labels
  readonly value: number
}

/** What the evaluator can read: current values, and past ones for range functions. */
export interface SeriesSource {
  /** Current samples of a metric name (labels without the name). */
  readonly instant: (name: string) => ReadonlyArray<Sample>
  /** Samples of one metric name within the last `rangeMs`, oldest first, per series. */
  readonly range: (name: string, rangeMs: number) => ReadonlyArray<{ readonly labels: Labels; readonly points: ReadonlyArray<readonly [timeMs: number, value: number]> }>
}

export class ExpressionError extends Data.TaggedError("ExpressionError")<{ readonly message: string }> {}

// --- AST -------------------------------------------------------------------------------

type Matcher = { readonly label: string; readonly op: "=" | "!=" | "=~" | "!~"; readonly value: string; readonly regex?: RegExp }

export type Node =
  | { readonly _tag: "Number"; readonly value: number }
  | { readonly _tag: "Selector"; readonly name: string; readonly matchers: ReadonlyArray<Matcher> }
  | { readonly _tag: "RangeFn"; readonly fn: RangeFnName; readonly selector: Extract<Node, { _tag: "Selector" }>; readonly rangeMs: number }
  | { readonly _tag: "Aggregate"; readonly op: AggregateOp; readonly by: ReadonlyArray<string> | undefined; readonly without: ReadonlyArray<string> | undefined; readonly expr: Node }
  | { readonly _tag: "Call"; readonly fn: "abs" | "absent"; readonly expr: Node }
  | { readonly _tag: "Negate"; readonly expr: Node }
  | { readonly _tag: "Binary"; readonly op: BinaryOp; readonly left: Node; readonly right: Node }

type RangeFnName = "rate" | "increase" | "delta" | "max_over_time" | "min_over_time" | "avg_over_time"
type AggregateOp = "sum" | "max" | "min" | "avg" | "count"
type BinaryOp = "+" | "-" | "*" | "/" | "==" | "!=" | ">" | "<" | ">=" | "<=" | "and" | "or"

const rangeFns = new Set<string>(["rate", "increase", "delta", "max_over_time", "min_over_time", "avg_over_time"])
const aggregates = new Set<string>(["sum", "max", "min", "avg", "count"])
const comparisons = new Set<string>(["==", "!=", ">", "<", ">=", "<="])

// Durations (`30s`, `5m`) are the configuration's too (`alerting.rules[].for`).
export { formatDuration, parseDuration }

// --- lexer -----------------------------------------------------------------------------

type Token =
  | { readonly kind: "num"; readonly value: number; readonly at: number }
  | { readonly kind: "id"; readonly value: string; readonly at: number }
  | { readonly kind: "str"; readonly value: string; readonly at: number }
  | { readonly kind: "dur"; readonly value: number; readonly at: number }
  | { readonly kind: "op"; readonly value: string; readonly at: number }
  | { readonly kind: "end"; readonly value: ""; readonly at: number }

const lex = (text: string): Array<Token> => {
  const tokens: Array<Token> = []
  let i = 0
  // After "[" a duration follows, which would otherwise lex as a number and an identifier.
  let inRange = false
  while (i < text.length) {
    const c = text[i]!
    if (/\s/.test(c)) {
      i++
      continue
    }
    const rest = text.slice(i)
    if (inRange) {
      const m = /^[0-9a-z]+/.exec(rest)
      const ms = m === null ? undefined : parseDuration(m[0])
      if (m === null || ms === undefined) throw new ExpressionError({ message: `bad duration at ${i}: ${rest.slice(0, 10)}` })
      tokens.push({ kind: "dur", value: ms, at: i })
      i += m[0].length
      inRange = false
      continue
    }
    const num = /^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/.exec(rest)
    if (num !== null) {
      tokens.push({ kind: "num", value: Number(num[0]), at: i })
      i += num[0].length
      continue
    }
    const id = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(rest)
    if (id !== null) {
      tokens.push({ kind: "id", value: id[0], at: i })
      i += id[0].length
      continue
    }
    if (c === "\"" || c === "'") {
      let j = i + 1
      let value = ""
      while (j < text.length && text[j] !== c) {
        if (text[j] === "\\" && j + 1 < text.length) {
          j++
          value += text[j] === "n" ? "\n" : text[j]
        } else {
          value += text[j]
        }
        j++
      }
      if (j >= text.length) throw new ExpressionError({ message: `unterminated string at ${i}` })
      tokens.push({ kind: "str", value, at: i })
      i = j + 1
      continue
    }
    const op = /^(==|!=|>=|<=|=~|!~|[-+*/()[\]{},<>=])/.exec(rest)
    if (op !== null) {
      tokens.push({ kind: "op", value: op[0], at: i })
      i += op[0].length
      if (op[0] === "[") inRange = true
      continue
    }
    throw new ExpressionError({ message: `unexpected character ${JSON.stringify(c)} at ${i}` })
  }
  tokens.push({ kind: "end", value: "", at: text.length })
  return tokens
}

// --- parser ----------------------------------------------------------------------------

const parseTokens = (tokens: Array<Token>): Node => {
  let pos = 0
  const peek = () => tokens[pos]!
  const next = () => tokens[pos++]!
  const fail = (message: string): never => {
    throw new ExpressionError({ message: `${message} at ${peek().at}` })
  }
  const isOp = (value: string) => peek().kind === "op" && peek().value === value
  const isId = (value: string) => peek().kind === "id" && peek().value === value
  const expectOp = (value: string) => {
    if (!isOp(value)) fail(`expected "${value}", found "${peek().value}"`)
    next()
  }

  const labelList = (): Array<string> => {
    expectOp("(")
    const labels: Array<string> = []
    while (!isOp(")")) {
      const t = next()
      if (t.kind !== "id") fail("expected a label name")
      labels.push(t.value as string)
      if (isOp(",")) next()
    }
    expectOp(")")
    return labels
  }

  const selector = (name: string): Extract<Node, { _tag: "Selector" }> => {
    const matchers: Array<Matcher> = []
    if (isOp("{")) {
      next()
      while (!isOp("}")) {
        const label = next()
        if (label.kind !== "id") fail("expected a label name")
        const op = next()
        if (op.kind !== "op" || !["=", "!=", "=~", "!~"].includes(op.value)) fail("expected a label matcher operator")
        const value = next()
        if (value.kind !== "str") fail("expected a quoted label value")
        const matcherOp = op.value as Matcher["op"]
        const regex = matcherOp === "=~" || matcherOp === "!~" ? new RegExp(`^(?:${value.value as string})$`) : undefined
        matchers.push({ label: label.value as string, op: matcherOp, value: value.value as string, ...(regex ? { regex } : {}) })
        if (isOp(",")) next()
      }
      next()
    }
    return { _tag: "Selector", name, matchers }
  }

  const primary = (): Node => {
    const t = peek()
    if (t.kind === "num") {
      next()
      return { _tag: "Number", value: t.value }
    }
    if (isOp("(")) {
      next()
      const inner = expr()
      expectOp(")")
      return inner
    }
    if (t.kind !== "id") return fail(`unexpected "${t.value}"`)
    next()
    const name = t.value
    if (rangeFns.has(name) && isOp("(")) {
      next()
      const s = next()
      if (s.kind !== "id") fail(`${name}() takes a metric selector`)
      const sel = selector(s.value as string)
      expectOp("[")
      const d = next()
      if (d.kind !== "dur") fail("expected a range duration")
      expectOp("]")
      expectOp(")")
      return { _tag: "RangeFn", fn: name as RangeFnName, selector: sel, rangeMs: d.value as number }
    }
    if (aggregates.has(name) && (isOp("(") || isId("by") || isId("without"))) {
      let by: Array<string> | undefined
      let without: Array<string> | undefined
      const grouping = () => {
        if (isId("by")) {
          next()
          by = labelList()
        } else if (isId("without")) {
          next()
          without = labelList()
        }
      }
      grouping()
      expectOp("(")
      const inner = expr()
      expectOp(")")
      grouping()
      return { _tag: "Aggregate", op: name as AggregateOp, by, without, expr: inner }
    }
    if ((name === "abs" || name === "absent") && isOp("(")) {
      next()
      const inner = expr()
      expectOp(")")
      return { _tag: "Call", fn: name, expr: inner }
    }
    return selector(name)
  }

  const unary = (): Node => {
    if (isOp("-")) {
      next()
      return { _tag: "Negate", expr: unary() }
    }
    return primary()
  }

  const binaryLevel = (operand: () => Node, ops: (t: Token) => boolean) => (): Node => {
    let left = operand()
    while (ops(peek())) {
      const op = next().value as BinaryOp
      left = { _tag: "Binary", op, left, right: operand() }
    }
    return left
  }

  const mul = binaryLevel(unary, (t) => t.kind === "op" && (t.value === "*" || t.value === "/"))
  const add = binaryLevel(mul, (t) => t.kind === "op" && (t.value === "+" || t.value === "-"))
  const cmp = binaryLevel(add, (t) => t.kind === "op" && comparisons.has(t.value))
  const and = binaryLevel(cmp, (t) => t.kind === "id" && t.value === "and")
  const expr: () => Node = binaryLevel(and, (t) => t.kind === "id" && t.value === "or")

  const root = expr()
  if (peek().kind !== "end") fail(`unexpected "${peek().value}"`)
  return root
}

/** Parses an expression; the error says what and where. */
export const parse = (text: string): Result.Result<Node, ExpressionError> => {
  try {
    return Result.succeed(parseTokens(lex(text)))
  } catch (error) {
    return Result.fail(error instanceof ExpressionError ? error : new ExpressionError({ message: String(error) }))
  }
}

/** The longest range any range function in `node` looks back (how much history to keep). */
export const maxRangeMs = (node: Node): number => {
  switch (node._tag) {
    case "RangeFn":
      return node.rangeMs
    case "Aggregate":
    case "Call":
    case "Negate":
      return maxRangeMs(node.expr)
    case "Binary":
      return Math.max(maxRangeMs(node.left), maxRangeMs(node.right))
    default:
      return 0
  }
}

/** Metric names `node` reads. */
export const metricNames = (node: Node): Array<string> => {
  switch (node._tag) {
    case "Selector":
      return [node.name]
    case "RangeFn":
      return [node.selector.name]
    case "Aggregate":
    case "Call":
    case "Negate":
      return metricNames(node.expr)
    case "Binary":
      return [...metricNames(node.left), ...metricNames(node.right)]
    default:
      return []
  }
}

// --- evaluation ------------------------------------------------------------------------

export type Value =
  | { readonly _tag: "Scalar"; readonly value: number }
  | { readonly _tag: "Vector"; readonly samples: ReadonlyArray<Sample> }

const matches = (labels: Labels, matchers: ReadonlyArray<Matcher>) =>
  matchers.every((m) => {
    const value = labels[m.label] ?? ""
    switch (m.op) {
      case "=":
        return value === m.value
      case "!=":
        return value !== m.value
      case "=~":
        return m.regex!.test(value)
      case "!~":
        return !m.regex!.test(value)
    }
  })

/** Identity of a label set: sorted `k="v"` pairs. */
export const labelKey = (labels: Labels): string =>
  Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(",")

const rangeValue = (fn: RangeFnName, points: ReadonlyArray<readonly [number, number]>, rangeMs: number): number | undefined => {
  if (points.length === 0) return undefined
  const values = points.map((p) => p[1])
  switch (fn) {
    case "max_over_time":
      return Math.max(...values)
    case "min_over_time":
      return Math.min(...values)
    case "avg_over_time":
      return values.reduce((a, b) => a + b, 0) / values.length
    case "delta":
      return points.length < 2 ? undefined : values[values.length - 1]! - values[0]!
    case "increase":
    case "rate": {
      if (points.length < 2) return undefined
      // A drop is a counter reset: the counter restarted from 0 and counted up to the new value.
      let increase = 0
      for (let i = 1; i < values.length; i++) {
        const step = values[i]! - values[i - 1]!
        increase += step >= 0 ? step : values[i]!
      }
      // Like Prometheus, extrapolate the covered span to the whole window.
      const covered = points[points.length - 1]![0] - points[0]![0]
      const extrapolated = covered > 0 ? increase * Math.min(rangeMs / covered, 1.1) : increase
      return fn === "rate" ? extrapolated / (rangeMs / 1000) : extrapolated
    }
  }
}

const arith = (op: BinaryOp, a: number, b: number): number => {
  switch (op) {
    case "+":
      return a + b
    case "-":
      return a - b
    case "*":
      return a * b
    case "/":
      return a / b
    default:
      return Number.NaN
  }
}

const compare = (op: BinaryOp, a: number, b: number): boolean => {
  switch (op) {
    case "==":
      return a === b
    case "!=":
      return a !== b
    case ">":
      return a > b
    case "<":
      return a < b
    case ">=":
      return a >= b
    case "<=":
      return a <= b
    default:
      return false
  }
}

const groupLabels = (labels: Labels, by: ReadonlyArray<string> | undefined, without: ReadonlyArray<string> | undefined): Labels => {
  const out: Record<string, string> = {}
  if (by !== undefined) {
    for (const k of by) if (labels[k] !== undefined) out[k] = labels[k]
  } else if (without !== undefined) {
    for (const [k, v] of Object.entries(labels)) if (!without.includes(k)) out[k] = v
  }
  return out
}

const evaluateNode = (node: Node, source: SeriesSource): Value => {
  switch (node._tag) {
    case "Number":
      return { _tag: "Scalar", value: node.value }
    case "Selector":
      return { _tag: "Vector", samples: source.instant(node.name).filter((s) => matches(s.labels, node.matchers)) }
    case "RangeFn": {
      const samples: Array<Sample> = []
      for (const series of source.range(node.selector.name, node.rangeMs)) {
        if (!matches(series.labels, node.selector.matchers)) continue
        const value = rangeValue(node.fn, series.points, node.rangeMs)
        if (value !== undefined) samples.push({ labels: series.labels, value })
      }
      return { _tag: "Vector", samples }
    }
    case "Aggregate": {
      const inner = evaluateNode(node.expr, source)
      if (inner._tag === "Scalar") throw new ExpressionError({ message: `${node.op}() needs a vector` })
      const groups = new Map<string, { labels: Labels; values: Array<number> }>()
      for (const s of inner.samples) {
        const labels = groupLabels(s.labels, node.by, node.without)
        const key = labelKey(labels)
        const group = groups.get(key) ?? { labels, values: [] }
        group.values.push(s.value)
        groups.set(key, group)
      }
      const samples = [...groups.values()].map(({ labels, values }) => ({
        labels,
        value: node.op === "sum"
          ? values.reduce((a, b) => a + b, 0)
          : node.op === "max"
          ? Math.max(...values)
          : node.op === "min"
          ? Math.min(...values)
          : node.op === "count"
          ? values.length
          : values.reduce((a, b) => a + b, 0) / values.length
      }))
      return { _tag: "Vector", samples }
    }
    case "Call": {
      const inner = evaluateNode(node.expr, source)
      if (node.fn === "abs") {
        return inner._tag === "Scalar"
          ? { _tag: "Scalar", value: Math.abs(inner.value) }
          : { _tag: "Vector", samples: inner.samples.map((s) => ({ labels: s.labels, value: Math.abs(s.value) })) }
      }
      if (inner._tag === "Scalar") throw new ExpressionError({ message: "absent() needs a vector" })
      return { _tag: "Vector", samples: inner.samples.length === 0 ? [{ labels: {}, value: 1 }] : [] }
    }
    case "Negate": {
      const inner = evaluateNode(node.expr, source)
      return inner._tag === "Scalar"
        ? { _tag: "Scalar", value: -inner.value }
        : { _tag: "Vector", samples: inner.samples.map((s) => ({ labels: s.labels, value: -s.value })) }
    }
    case "Binary":
      return binary(node.op, evaluateNode(node.left, source), evaluateNode(node.right, source))
  }
}

const binary = (op: BinaryOp, left: Value, right: Value): Value => {
  const isComparison = comparisons.has(op)
  if (op === "and" || op === "or") {
    if (left._tag !== "Vector" || right._tag !== "Vector") throw new ExpressionError({ message: `"${op}" needs two vectors` })
    const rightKeys = new Set(right.samples.map((s) => labelKey(s.labels)))
    if (op === "and") return { _tag: "Vector", samples: left.samples.filter((s) => rightKeys.has(labelKey(s.labels))) }
    const leftKeys = new Set(left.samples.map((s) => labelKey(s.labels)))
    return { _tag: "Vector", samples: [...left.samples, ...right.samples.filter((s) => !leftKeys.has(labelKey(s.labels)))] }
  }
  if (left._tag === "Scalar" && right._tag === "Scalar") {
    return { _tag: "Scalar", value: isComparison ? (compare(op, left.value, right.value) ? 1 : 0) : arith(op, left.value, right.value) }
  }
  if (left._tag === "Vector" && right._tag === "Scalar") {
    const samples = isComparison
      ? left.samples.filter((s) => compare(op, s.value, right.value))
      : left.samples.map((s) => ({ labels: s.labels, value: arith(op, s.value, right.value) }))
    return { _tag: "Vector", samples }
  }
  if (left._tag === "Scalar" && right._tag === "Vector") {
    const samples = isComparison
      ? right.samples.filter((s) => compare(op, left.value, s.value))
      : right.samples.map((s) => ({ labels: s.labels, value: arith(op, left.value, s.value) }))
    return { _tag: "Vector", samples }
  }
  // One-to-one matching on identical label sets.
  const l = left as Extract<Value, { _tag: "Vector" }>
  const byKey = new Map((right as Extract<Value, { _tag: "Vector" }>).samples.map((s) => [labelKey(s.labels), s.value] as const))
  const samples: Array<Sample> = []
  for (const s of l.samples) {
    const other = byKey.get(labelKey(s.labels))
    if (other === undefined) continue
    if (isComparison) {
      if (compare(op, s.value, other)) samples.push(s)
    } else {
      samples.push({ labels: s.labels, value: arith(op, s.value, other) })
    }
  }
  return { _tag: "Vector", samples }
}

/**
 * Evaluates a parsed expression. An alert rule fires for every sample of the resulting
 * vector (a scalar result counts as one sample with no labels when non-zero, like a
 * comparison that holds). NaN samples (0/0) never fire.
 */
export const evaluate = (node: Node, source: SeriesSource): Result.Result<ReadonlyArray<Sample>, ExpressionError> => {
  try {
    const value = evaluateNode(node, source)
    const samples = value._tag === "Scalar" ? (value.value !== 0 ? [{ labels: {}, value: value.value }] : []) : value.samples
    return Result.succeed(samples.filter((s) => !Number.isNaN(s.value)))
  } catch (error) {
    return Result.fail(error instanceof ExpressionError ? error : new ExpressionError({ message: String(error) }))
  }
}
