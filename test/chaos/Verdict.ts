/**
 * What must hold after every chaos run (issue 11), one named check each, shared by the
 * smoke test (one test per check) and `npm run chaos` (which prints them and sets its
 * exit code).
 */
import { READY_WITHIN_MS } from "./ChaosRun.ts"
import { kinds } from "./Kinds.ts"
import type { ChaosReport } from "./Report.ts"

export interface Verdict {
  readonly ok: boolean
  /** What was found (the evidence when the check fails). */
  readonly detail: string
}

export interface Check {
  readonly name: string
  readonly judge: (report: ChaosReport, minIds: number) => Verdict
}

const json = (value: unknown) => JSON.stringify(value, null, 1).slice(0, 4000)

export const checks: ReadonlyArray<Check> = [
  {
    name: "0 duplicates, counted exactly over every ID received",
    judge: (report) => {
      const ok = report.duplicates === 0 && report.malformedIds.length === 0
      return {
        ok,
        detail: ok
          ? `0 among ${report.ids} IDs in ${report.spaces.length} spaces`
          : `${report.duplicates} duplicates, ${report.malformedIds.length} malformed IDs: ${json({
            spaces: report.spaces.filter((s) => s.duplicates > 0),
            evidence: report.duplicateEvidence.slice(0, 10),
            malformed: report.malformedIds.slice(0, 10)
          })} (IDs and requests kept in ${report.resultsDir})`
      }
    }
  },
  {
    name: "the run's size of IDs was collected",
    judge: (report, minIds) => ({ ok: report.ids >= minIds, detail: `${report.ids} IDs (at least ${minIds}) in ${report.loadMs} ms` })
  },
  ...kinds.filter((k) => k.minSuccessRatio !== undefined).map((kind): Check => ({
    name: `${kind.tag}: at least ${kind.minSuccessRatio! * 100} % of requests succeed through every fault`,
    judge: (report) => {
      const k = report.kinds.find((r) => r.kind === kind.tag)!
      return {
        ok: k.requests > 0 && k.successRatio >= kind.minSuccessRatio!,
        detail: `${k.ok} of ${k.requests} (${(k.successRatio * 100).toFixed(3)} %); refused ${json(k.refused)}, ` +
          `no answer ${json(k.unanswered)}, longest unavailable ${k.longestUnavailableMs} ms during ${k.longestUnavailableCause}`
      }
    }
  })),
  {
    name: "every failure is a contract IDGEN error with its status, none hangs past the request timeout",
    judge: (report) => ({
      ok: report.breaches.length === 0 && report.kinds.every((k) => k.violations === 0 && (k.unanswered["timeout"] ?? 0) === 0),
      detail: report.breaches.length === 0 ? "none" : `${report.breaches.length}: ${json(report.breaches.slice(0, 10))}`
    })
  },
  {
    name: "no node process died unless killed, none logged an uncaught failure, every restart succeeded",
    judge: (report) => {
      const failedRestarts = report.faults.filter((f) => f.kind.startsWith("node-kill") && f.error !== undefined)
      return {
        ok: report.crashes.length === 0 && report.logProblems.length === 0 && failedRestarts.length === 0,
        detail: json({ crashes: report.crashes.slice(0, 3), log: report.logProblems.slice(0, 10), failedRestarts })
      }
    }
  },
  {
    name: `every node is ready within ${READY_WITHIN_MS / 1000} s of its dependencies returning, and all are at the end`,
    judge: (report) => {
      const late = report.readiness.afterDependencies.filter((r) => r.readyAfterMs === undefined || r.readyAfterMs > READY_WITHIN_MS)
      return {
        ok: report.readiness.allReadyAtEnd && late.length === 0,
        detail: `worst ${report.readiness.worstAfterDependencyMs} ms over ${report.readiness.afterDependencies.length} ` +
          `(node × dependency return); late: ${json(late)}; all ready at the end: ${report.readiness.allReadyAtEnd}`
      }
    }
  },
  {
    name: "every fault kind was done without failing",
    judge: (report) => ({
      ok: report.faultKindsMissing.length === 0,
      detail: report.faultKindsMissing.length === 0
        ? "all"
        : `missing or failed: ${report.faultKindsMissing.join(", ")}; ${json(report.faults.filter((f) => f.error !== undefined))}`
    })
  }
]
