/**
 * Turns the raw measurements into checks (value, baseline, ratio, target, PASS/MISS),
 * prints them as one compact table and writes the JSON summary.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"

/**
 * `MISS?`: missed, but the deciding run(s) got less than 90 % of a core (a busy machine),
 * so the miss says little about the code; rerun on an idle machine.
 */
export type Verdict = "PASS" | "MISS" | "MISS?" | "info" | "n/a"

export interface Check {
  readonly id: string
  readonly section: "in-process" | "http" | "tail" | "workers" | "interfaces" | "allocations" | "startup" | "memory"
  readonly metric: string
  /** Measured value in `unit`, or null when it could not be measured. */
  readonly value: number | null
  readonly unit: "ops/s" | "ids/s" | "req/s" | "allocs/min" | "ms" | "MB" | "ms/s"
  /** Spread of the repeated runs: [worst, best] in `unit`. */
  readonly runs?: readonly [number, number]
  readonly baseline: { readonly name: string; readonly value: number | null } | null
  readonly ratio: number | null
  readonly target: string
  readonly verdict: Verdict
  /** Latency p50/p99 in ms (HTTP): measured and baseline. */
  readonly latency?: {
    readonly p50: number
    readonly p99: number
    readonly baselineP50: number | null
    readonly baselineP99: number | null
  }
  readonly notes: ReadonlyArray<string>
}

export const rate = (value: number | null, unit: string): string => {
  if (value === null || !Number.isFinite(value)) return "–"
  if (unit === "allocs/min") return `${value.toFixed(2)} /min`
  if (unit === "ms") return `${value.toFixed(1)} ms`
  if (unit === "MB") return `${value.toFixed(0)} MB`
  if (unit === "ms/s") return `${value.toFixed(2)} ms/s`
  const suffix = unit === "req/s" ? " req/s" : "/s"
  if (value >= 1e6) return `${(value / 1e6).toFixed(value >= 1e8 ? 0 : 2)} M${suffix}`
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)} k${suffix}`
  return `${value.toFixed(0)} ${suffix}`
}

const short = (value: number): string =>
  value >= 1e6 ? `${(value / 1e6).toFixed(2)}M` : value >= 1e3 ? `${(value / 1e3).toFixed(1)}k` : value.toFixed(0)

const pad = (s: string, width: number, right = false) => (right ? s.padStart(width) : s.padEnd(width))

const ms = (x: number | null) => (x === null || !Number.isFinite(x) ? "–" : Number.isInteger(x) ? `${x}` : x.toFixed(1))

export const table = (checks: ReadonlyArray<Check>): string => {
  const header = ["metric", "measured", "min–max", "baseline", "ratio", "p50/p99 ms", "target", "result"]
  const rows = checks.map((c) => [
    c.metric,
    rate(c.value, c.unit),
    c.runs ? `${short(c.runs[0])}–${short(c.runs[1])}` : "",
    c.baseline ? `${rate(c.baseline.value, c.unit)} ${c.baseline.name}` : "",
    c.ratio === null ? "" : c.ratio.toFixed(2),
    c.latency
      ? `${ms(c.latency.p50)}/${ms(c.latency.p99)} vs ${ms(c.latency.baselineP50)}/${ms(c.latency.baselineP99)}`
      : "",
    c.target,
    c.verdict
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const numeric = new Set([1, 2, 4])
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((cell, i) => pad(cell, widths[i]!, numeric.has(i))).join("  ").trimEnd()
  const out = [line(header), widths.map((w) => "-".repeat(w)).join("  ")]
  let section = ""
  checks.forEach((c, i) => {
    if (c.section !== section) {
      section = c.section
      out.push(`[${section}]`)
    }
    out.push(line(rows[i]!))
  })
  const notes = checks.flatMap((c) => c.notes.map((n) => `  * ${c.metric}: ${n}`))
  if (notes.length > 0) out.push("", "notes:", ...notes)
  if (checks.some((c) => c.verdict === "MISS?")) {
    out.push("  MISS? = missed while the deciding run got < 90% of a core (busy machine): inconclusive, rerun idle")
  }
  return out.join("\n")
}

export const writeJson = (file: string, summary: unknown): void => {
  Fs.mkdirSync(Path.dirname(file), { recursive: true })
  Fs.writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`)
}
