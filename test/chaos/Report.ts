/**
 * What a chaos run found, as one JSON-ready object and as the table printed at its end
 * (and quoted in the README): IDs and duplicates, success per biz_tag kind with its longest
 * unavailability and the faults behind it, requests per interface, node readiness after
 * each fault, and the fault timeline.
 */
import type { DuplicateEvidence, SpaceSummary } from "./IdLedger.ts"
import type { Crash, ReadyAfter } from "./Readiness.ts"
import type { Breach, Tally } from "./Tally.ts"
import type { Fault, Timeline } from "./Timeline.ts"

export interface KindReport {
  readonly kind: string
  readonly requests: number
  readonly ok: number
  readonly successRatio: number
  readonly minSuccessRatio: number | undefined
  readonly refused: Record<string, number>
  readonly unanswered: Record<string, number>
  readonly violations: number
  readonly ids: number
  readonly idsByAlgorithm: Record<string, number>
  readonly longestUnavailableMs: number
  /** When it started (ms into the run) and the faults in progress around it. */
  readonly longestUnavailableAt: number | undefined
  readonly longestUnavailableCause: string
}

export interface ChaosReport {
  readonly profile: string
  readonly startedAt: string
  readonly durationMs: number
  readonly loadMs: number
  readonly machine: { readonly cpus: number; readonly loadAverageAtStart: ReadonlyArray<number>; readonly node: string }
  readonly nodes: ReadonlyArray<{ readonly name: string; readonly datacenter: number; readonly fakeClock: boolean }>
  readonly ids: number
  readonly duplicates: number
  readonly idsPerSecond: number
  readonly keySetBytes: number
  readonly spaces: ReadonlyArray<SpaceSummary>
  readonly duplicateEvidence: ReadonlyArray<DuplicateEvidence & { readonly requestLines: ReadonlyArray<string> }>
  readonly malformedIds: ReadonlyArray<{ readonly space: string; readonly id: string; readonly request: number }>
  readonly requests: number
  readonly kinds: ReadonlyArray<KindReport>
  readonly interfaces: ReadonlyArray<{ readonly via: string; readonly requests: number; readonly ok: number; readonly ids: number; readonly maxLatencyMs: number }>
  readonly errorsByCode: Record<string, number>
  /** Requests another node answered after one did not answer or answered "unavailable". */
  readonly requestsThatSkippedANode: number
  readonly breaches: ReadonlyArray<Breach>
  readonly readiness: {
    readonly afterDependencies: ReadonlyArray<ReadyAfter>
    readonly worstAfterDependencyMs: number | undefined
    readonly notReadyAgain: ReadonlyArray<ReadyAfter>
    readonly afterRestarts: ReadonlyArray<{ readonly node: string; readonly kind: string; readonly at: number; readonly readyAfterMs: number | undefined }>
    readonly allReadyAtEnd: boolean
  }
  readonly crashes: ReadonlyArray<Crash>
  readonly logProblems: ReadonlyArray<string>
  readonly faults: ReadonlyArray<Fault>
  readonly faultKindsMissing: ReadonlyArray<string>
  readonly resultsDir: string
}

/**
 * The fault behind an outage: of those in progress during it (or ended up to 2 s before
 * it), the one overlapping it longest, then the others ("no fault" when none was).
 */
export const causeOf = (timeline: Timeline, from: number, to: number): string => {
  const overlap = (f: Fault) => Math.min(to, (f.end ?? to) + 2000) - Math.max(from, f.start)
  const faults = [...timeline.overlapping(from, to, 2000)].sort((a, b) => overlap(b) - overlap(a))
  if (faults.length === 0) return "no fault"
  const names = [...new Set(faults.map((f) => `${f.kind} ${f.target}`))]
  return names.length === 1 ? names[0]! : `${names[0]} (also: ${names.slice(1).join(", ")})`
}

export const kindReports = (
  tally: Tally,
  timeline: Timeline,
  minRatio: (kind: string) => number | undefined
): ReadonlyArray<KindReport> =>
  [...tally.kinds].map(([kind, counts]) => {
    const longest = counts.longest
    return {
      kind,
      requests: counts.requests,
      ok: counts.ok,
      successRatio: counts.requests === 0 ? 0 : counts.ok / counts.requests,
      minSuccessRatio: minRatio(kind),
      refused: counts.refused,
      unanswered: counts.unanswered,
      violations: counts.violations,
      ids: counts.ids,
      idsByAlgorithm: counts.idsByAlgorithm,
      longestUnavailableMs: longest?.ms ?? 0,
      longestUnavailableAt: longest === undefined ? undefined : longest.from - timeline.started,
      longestUnavailableCause: longest === undefined
        ? "-"
        : causeOf(timeline, longest.from - timeline.started, longest.to - timeline.started)
    }
  })

const pad = (rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ")).join("\n")
}

const count = (n: number) => n.toLocaleString("en-US")
const codes = (record: Record<string, number>) =>
  Object.entries(record).map(([code, n]) => `${code.replace("IDGEN-", "")} ${count(n)}`).join(", ") || "-"

/** The end-of-run table. */
export const table = (report: ChaosReport): string => {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`
  const head = [
    `chaos run "${report.profile}" ${report.startedAt}: ${count(report.ids)} IDs in ${seconds(report.loadMs)} of load ` +
    `(${count(Math.round(report.idsPerSecond))} IDs/s), ${count(report.requests)} requests, ` +
    `${report.nodes.length} nodes, ${report.faults.length} faults; ${report.machine.cpus} CPUs, load average at start ${report.machine.loadAverageAtStart.map((l) => l.toFixed(2)).join(" ")}`,
    `duplicates: ${count(report.duplicates)} (exact, over ${report.spaces.length} ID spaces; key sets ${(report.keySetBytes / 2 ** 20).toFixed(0)} MiB)`
  ].join("\n")
  const kinds = pad([
    ["biz_tag kind", "requests", "success", "IDs", "by algorithm", "refused (code n)", "no answer", "contract breaches", "longest unavailable", "during"],
    ...report.kinds.map((k) => [
      k.kind,
      count(k.requests),
      `${(k.successRatio * 100).toFixed(3)} %`,
      count(k.ids),
      codes(k.idsByAlgorithm),
      codes(k.refused),
      codes(k.unanswered),
      count(k.violations),
      seconds(k.longestUnavailableMs),
      k.longestUnavailableCause
    ])
  ])
  const interfaces = pad([
    ["interface", "requests", "success", "IDs", "slowest answer"],
    ...report.interfaces.map((i) => [i.via, count(i.requests), count(i.ok), count(i.ids), `${i.maxLatencyMs} ms`])
  ])
  const worst = report.readiness.worstAfterDependencyMs
  const readiness = `readiness: after ${report.readiness.afterDependencies.length} dependency returns (node × fault) every node ready again ` +
    `within ${worst === undefined ? "-" : `${worst} ms`}${report.readiness.notReadyAgain.length > 0 ? `, ${report.readiness.notReadyAgain.length} never` : ""}; ` +
    `restarted nodes ready after ${spread(report.readiness.afterRestarts.map((r) => r.readyAfterMs))}; ` +
    `all ready at the end: ${report.readiness.allReadyAtEnd ? "yes" : "NO"}; crashes: ${report.crashes.length}`
  const byKind = pad([
    ["fault kind", "times", "failed", "back after (min–max)"],
    ...[...new Set(report.faults.map((f) => f.kind))].map((kind) => {
      const of = report.faults.filter((f) => f.kind === kind)
      const back = of.flatMap((f) => (f.end === undefined ? [] : [f.end - f.start]))
      return [kind, String(of.length), String(of.filter((f) => f.error !== undefined).length), `${seconds(Math.min(...back))}–${seconds(Math.max(...back))}`]
    })
  ])
  const faults = pad([
    ["fault", "target", "start", "back after", "detail"],
    ...report.faults.map((f) => [
      f.kind,
      f.target,
      seconds(f.start),
      f.end === undefined ? "-" : seconds(f.end - f.start),
      f.error === undefined ? f.detail : `${f.detail} — FAILED: ${f.error.split("\n")[0]}`
    ])
  ])
  return [head, "", kinds, "", interfaces, "", readiness, "", byKind, "", faults].join("\n")
}

const spread = (values: ReadonlyArray<number | undefined>) => {
  const known = values.filter((v): v is number => v !== undefined).sort((a, b) => a - b)
  if (known.length === 0) return "-"
  return `${known[0]}–${known[known.length - 1]} ms (median ${known[Math.floor(known.length / 2)]} ms)`
}

/** One progress line: elapsed, IDs, errors by code, faults in progress. */
export const progressLine = (timeline: Timeline, tally: Tally, duplicates: number): string => {
  const elapsed = timeline.now()
  const active = timeline.active().map((f) => `${f.kind} ${f.target}`)
  return `[chaos ${(elapsed / 1000).toFixed(0).padStart(3)} s] ${count(tally.ids)} IDs (${count(Math.round(tally.ids / (elapsed / 1000)))}/s), ` +
    `${count(tally.requests)} requests, duplicates ${duplicates}; errors: ${codes(tally.errors)}; ` +
    `faults: ${active.length === 0 ? "none" : active.join(", ")}`
}
