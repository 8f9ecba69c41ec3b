/**
 * The node's own metrics as the alert expressions see them: each evaluation takes a
 * snapshot of the metric registry (the same one `/metrics` formats), flattens it into
 * Prometheus series — counters and gauges by name, histograms as `_bucket{le}`, `_sum`,
 * `_count` — and keeps a bounded history per series for the range functions.
 */
import { Context, Metric } from "effect"
import { type Labels, labelKey, type Sample, type SeriesSource } from "./Expression.ts"

interface Series {
  readonly name: string
  readonly labels: Labels
  readonly points: Array<[number, number]>
}

const toNumber = (value: number | bigint): number => (typeof value === "bigint" ? Number(value) : value)

/** Attributes as labels; `unit`/`time_unit` are metadata, left out as the Prometheus exposition does. */
const labelsOf = (attributes: Readonly<Record<string, string>> | undefined): Record<string, string> => {
  const out: Record<string, string> = {}
  if (attributes === undefined) return out
  for (const [k, v] of Object.entries(attributes)) if (k !== "unit" && k !== "time_unit") out[k] = v
  return out
}

/** The exposition names a metric's samples go by (a histogram's or summary's `_count`, `_sum`, `_bucket`). */
const sampleNames = (id: string) => [id, `${id}_count`, `${id}_sum`, `${id}_bucket`]

/**
 * Like `Metric.snapshotUnsafe`, but reads only the metrics whose samples `wanted` names:
 * the registry holds a dozen scrape-time series per biz_tag, and reading them all on every
 * evaluation cost ~100 ms of event loop with 2,000 biz_tags.
 */
export const snapshotWanted = (
  context: Context.Context<never>,
  wanted: ReadonlySet<string>
): Array<Metric.Metric.Snapshot> => {
  const out: Array<Metric.Metric.Snapshot> = []
  const relevant = new Map<string, boolean>()
  for (const { hooks, ...meta } of Context.get(context, Metric.MetricRegistry).values()) {
    let keep = relevant.get(meta.id)
    if (keep === undefined) {
      keep = sampleNames(meta.id).some((name) => wanted.has(name))
      relevant.set(meta.id, keep)
    }
    if (keep) out.push({ ...meta, state: hooks.get(context) } as Metric.Metric.Snapshot)
  }
  return out
}

/** Flattens one snapshot into series samples, keeping only the metric names in `wanted`. */
export const flatten = (
  snapshots: ReadonlyArray<Metric.Metric.Snapshot>,
  wanted: ReadonlySet<string>
): Array<{ name: string; labels: Labels; value: number }> => {
  const out: Array<{ name: string; labels: Labels; value: number }> = []
  const push = (name: string, labels: Labels, value: number) => {
    if (wanted.has(name)) out.push({ name, labels, value })
  }
  for (const snapshot of snapshots) {
    const labels = labelsOf(snapshot.attributes)
    switch (snapshot.type) {
      case "Counter":
        push(snapshot.id, labels, toNumber(snapshot.state.count))
        break
      case "Gauge":
        push(snapshot.id, labels, toNumber(snapshot.state.value))
        break
      case "Histogram": {
        const { buckets, count, sum } = snapshot.state
        push(`${snapshot.id}_count`, labels, count)
        push(`${snapshot.id}_sum`, labels, sum)
        if (wanted.has(`${snapshot.id}_bucket`)) {
          for (const [boundary, cumulative] of buckets) {
            if (boundary !== Number.POSITIVE_INFINITY) push(`${snapshot.id}_bucket`, { ...labels, le: String(boundary) }, cumulative)
          }
          push(`${snapshot.id}_bucket`, { ...labels, le: "+Inf" }, count)
        }
        break
      }
      case "Summary": {
        const { quantiles, count, sum } = snapshot.state
        push(`${snapshot.id}_count`, labels, count)
        push(`${snapshot.id}_sum`, labels, sum)
        for (const [q, value] of quantiles) if (value !== undefined) push(snapshot.id, { ...labels, quantile: String(q) }, value)
        break
      }
      case "Frequency":
        for (const [key, count] of snapshot.state.occurrences) push(snapshot.id, { ...labels, key }, count)
        break
    }
  }
  return out
}

/**
 * Series history across evaluations. `record` adds one snapshot at `nowMs` and forgets
 * points older than `keepMs`; the returned source answers for that snapshot.
 */
export class SampleHistory {
  private readonly series = new Map<string, Series>()
  /** The same series by metric name, so a range function reads only its own. */
  private readonly byName = new Map<string, Set<Series>>()

  record(
    samples: ReadonlyArray<{ name: string; labels: Labels; value: number }>,
    nowMs: number,
    keepMs: number
  ): SeriesSource {
    const current = new Map<string, Array<Sample>>()
    for (const { name, labels, value } of samples) {
      const key = `${name}{${labelKey(labels)}}`
      let series = this.series.get(key)
      if (series === undefined) {
        series = { name, labels, points: [] }
        this.series.set(key, series)
        const named = this.byName.get(name) ?? new Set()
        named.add(series)
        this.byName.set(name, named)
      }
      series.points.push([nowMs, value])
      const list = current.get(name) ?? []
      list.push({ labels, value })
      current.set(name, list)
    }
    for (const [key, series] of this.series) {
      while (series.points.length > 0 && series.points[0]![0] < nowMs - keepMs) series.points.shift()
      if (series.points.length === 0) {
        this.series.delete(key)
        this.byName.get(series.name)?.delete(series)
      }
    }
    return {
      instant: (name) => current.get(name) ?? [],
      range: (name, rangeMs) => {
        const out: Array<{ labels: Labels; points: ReadonlyArray<readonly [number, number]> }> = []
        for (const series of this.byName.get(name) ?? []) {
          const points = series.points.filter(([t]) => t >= nowMs - rangeMs)
          if (points.length > 0) out.push({ labels: series.labels, points })
        }
        return out
      }
    }
  }
}
