/**
 * Metrics of the Redis segment pool (`RedisSegmentPool.ts`), per biz_tag, as this node sees
 * them. Updated once per segment (never per ID); series are removed with the pool's scope.
 * Like `SegmentMetrics`, only operator-created biz_tags get series, up to the same cap
 * (auto-created ones, and any past the cap, are served but not broken out).
 */
import { type Context, Effect, Metric, type Scope } from "effect"
import { type BizTagLabels, labelsOf, maxTrackedTags } from "./SegmentMetrics.ts"
import type { BizTagRecord } from "../storage/Records.ts"

const pops = (attributes: BizTagLabels) =>
  Metric.counter("idgen_segment_pool_pops_total", {
    description: "Segments this node took from the shared Redis segment pool (popped and claimed)",
    incremental: true,
    attributes
  })
const misses = (attributes: BizTagLabels) =>
  Metric.counter("idgen_segment_pool_misses_total", {
    description: "Segments this node allocated from the database directly because the pool was empty or Redis unavailable",
    incremental: true,
    attributes
  })
const refills = (attributes: BizTagLabels) =>
  Metric.counter("idgen_segment_pool_refills_total", {
    description: "Pool refills by this node: one database allocation split into pool segments",
    incremental: true,
    attributes
  })
const discarded = (attributes: BizTagLabels) =>
  Metric.counter("idgen_segment_pool_discarded_total", {
    description: "Pool entries dropped unissued without a claim (malformed, below this node's last segment or the fence it last saw): gaps, never duplicates",
    incremental: true,
    attributes
  })
const fenced = (attributes: BizTagLabels) =>
  Metric.counter("idgen_segment_pool_fenced_total", {
    description: "Popped pool entries the PostgreSQL fence refused (used already — Redis replayed them — or popped after a later one): gaps, never duplicates",
    incremental: true,
    attributes
  })
const length = (attributes: BizTagLabels) =>
  Metric.gauge("idgen_segment_pool_length", {
    description: "Segments left in the biz_tag's pool, as of this node's last pop or refill",
    attributes
  })

export interface PoolTagMetrics {
  readonly popped: () => void
  readonly missed: () => void
  readonly refilled: () => void
  readonly discarded: (count: number) => void
  readonly fenced: () => void
  readonly length: (segments: number) => void
}

const untracked: PoolTagMetrics = {
  popped: noop,
  missed: noop,
  refilled: noop,
  discarded: noop,
  fenced: noop,
  length: noop
}

export interface SegmentPoolMetrics {
  readonly track: (tag: BizTagRecord) => PoolTagMetrics
}

export const make: Effect.Effect<SegmentPoolMetrics, never, Scope.Scope> = Effect.gen(function*() {
  const context: Context.Context<never> = yield* Effect.context()
  const series: Array<Metric.Metric<number, unknown>> = []
  yield* Effect.addFinalizer(() => Effect.sync(() => series.forEach((m) => Metric.removeUnsafe(m, context))))
  let tracked = 0

  const track = (tag: BizTagRecord): PoolTagMetrics => {
    if (tag.autoCreated || tracked >= maxTrackedTags) return untracked
    tracked++
    const labels = labelsOf(tag)
    const counters = [pops(labels), misses(labels), refills(labels), discarded(labels), fenced(labels)] as const
    const gauge = length(labels)
    series.push(...counters, gauge)
    const add = (metric: Metric.Metric<number, unknown>) => (n = 1) => metric.updateUnsafe(n, context)
    return {
      popped: add(counters[0]),
      missed: add(counters[1]),
      refilled: add(counters[2]),
      discarded: add(counters[3]),
      fenced: add(counters[4]),
      length: (segments) => gauge.updateUnsafe(segments, context)
    }
  }
  return { track }
})

function noop() {}
