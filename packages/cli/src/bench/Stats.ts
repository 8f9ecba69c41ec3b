/**
 * Latency samples and their percentiles (milliseconds), and the summary of one load run.
 */

export interface Summary {
  readonly interface: string
  readonly calls: number
  readonly ids: number
  readonly errors: number
  readonly seconds: number
  readonly idsPerSecond: number
  readonly callsPerSecond: number
  /** Milliseconds. */
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly max: number
  /** The first error seen, if any. */
  readonly firstError?: string | undefined
}

/** The q-quantile (0..1) of sorted samples, nearest rank. */
export const quantile = (sorted: ReadonlyArray<number>, q: number): number =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!

export const summarize = (
  name: string,
  latencies: Array<number>,
  ids: number,
  errors: number,
  seconds: number,
  firstError: string | undefined
): Summary => {
  latencies.sort((a, b) => a - b)
  return {
    interface: name,
    calls: latencies.length,
    ids,
    errors,
    seconds,
    idsPerSecond: ids / seconds,
    callsPerSecond: latencies.length / seconds,
    p50: quantile(latencies, 0.5),
    p90: quantile(latencies, 0.9),
    p99: quantile(latencies, 0.99),
    max: latencies.length === 0 ? Number.NaN : latencies[latencies.length - 1]!,
    firstError
  }
}

const si = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0))
const ms = (n: number) => (Number.isNaN(n) ? "-" : n < 10 ? n.toFixed(2) : n.toFixed(1))

/** One table row per summary. */
export const rows = (summaries: ReadonlyArray<Summary>) =>
  summaries.map((s) => [s.interface, s.calls, si(s.idsPerSecond), si(s.callsPerSecond), ms(s.p50), ms(s.p90), ms(s.p99), ms(s.max), s.errors])

export const columns = ["INTERFACE", "CALLS", "IDS/S", "CALLS/S", "P50 MS", "P90 MS", "P99 MS", "MAX MS", "ERRORS"]
