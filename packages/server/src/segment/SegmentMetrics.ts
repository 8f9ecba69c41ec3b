/**
 * Segment metrics. What lives in the actor's own state (buffer fill, step, loads, waits) is
 * read at scrape time, so the take path pays nothing; what only a refill knows (its
 * latency, how much of the datacenter's range is left) is pushed by each load, once per
 * segment.
 *
 * Cardinality: clients choose the names of auto-created biz_tags, so only biz_tags an
 * operator created get series of their own (from their first use on this node, capped at
 * `maxTrackedTags`). Auto-created biz_tags, and any past the cap, are aggregated: a count,
 * and the lowest share of range left among them, so capacity alerts still cover them.
 * Refill latency and failures are per algorithm (`segment`, or `formatted` for the
 * biz_tags whose counter renders formatted IDs), never per biz_tag. A biz_tag released for
 * idleness keeps its series (read through `actorOf`, they show the idle state) and the
 * actor its next use starts reports into them.
 */
import type { DatacenterRange, Errors } from "@idgen/core"
import { type Context, Effect, Metric, Option, type Scope } from "effect"
import * as ScrapeTime from "../observability/ScrapeTime.ts"
import type { AllocatedSegment, BizTagRecord } from "../storage/Records.ts"
import type { SegmentActor } from "./SegmentActor.ts"

export const maxTrackedTags = 2000

export interface TagMetrics {
  /** A segment arrived after `seconds`. */
  readonly refilled: (seconds: number, segment: AllocatedSegment) => void
  readonly refillFailed: (error: Errors.IdgenError) => void
}

export interface SegmentMetrics {
  /** Starts the series of `tag` (read from its actor, `actorOf`, while it has one). */
  readonly track: (tag: BizTagRecord) => TagMetrics
}

export type BizTagLabels = {
  readonly workspace: string
  readonly group: string
  readonly biz_tag: string
}

export const segmentBuffered = (attributes: BizTagLabels) =>
  Metric.gauge("idgen_segment_buffered_ids", {
    description: "Numbers left in the biz_tag's double buffer on this node (current and next segment)",
    attributes
  })
export const segmentCurrentRemaining = (attributes: BizTagLabels) =>
  Metric.gauge("idgen_segment_current_remaining_ids", {
    description: "Numbers left in the biz_tag's current segment on this node",
    attributes
  })
export const segmentBufferFill = (attributes: BizTagLabels) =>
  Metric.gauge("idgen_segment_buffer_fill_ratio", {
    description: "Double-buffer fill: the unconsumed fraction of the current segment, plus 1 when the next segment is loaded (0–2)",
    attributes
  })
export const segmentStep = (attributes: BizTagLabels) =>
  Metric.gauge("idgen_segment_step", {
    description: "Step (segment size) the biz_tag's next allocation will ask for",
    attributes
  })
export const segmentLoads = (attributes: BizTagLabels) =>
  Metric.counter("idgen_segment_loads_total", {
    description: "Segments allocated from storage for the biz_tag by this node",
    incremental: true,
    attributes
  })
export const segmentWaits = (attributes: BizTagLabels) =>
  Metric.counter("idgen_segment_buffer_waits_total", {
    description: "Takes that found the buffer empty and waited for a refill (buffer starvation)",
    incremental: true,
    attributes
  })
/** The algorithm a biz_tag's segment counter serves. */
export type RefillAlgorithm = "segment" | "formatted"
const refillAlgorithm = (tag: BizTagRecord): RefillAlgorithm => (tag.algorithm === "formatted" ? "formatted" : "segment")

export const segmentRefillDuration = (algorithm: RefillAlgorithm) =>
  Metric.histogram("idgen_segment_refill_duration_seconds", {
    description: "Time to allocate one segment from storage (one database transaction), by the algorithm it serves",
    boundaries: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    attributes: { algorithm }
  })
export const segmentRefillFailures = (algorithm: RefillAlgorithm) =>
  Metric.counter("idgen_segment_refill_failures_total", {
    description: "Segment allocations that failed (database unavailable, range exhausted), by the algorithm they serve",
    incremental: true,
    attributes: { algorithm }
  })
export const aggregatedTags = Metric.gauge("idgen_segment_aggregated_biz_tags", {
  description: "biz_tags this node served without series of their own (auto-created, or past the cap of " +
    "per-biz_tag series)"
})
export const aggregatedRangeRemainingRatioMin = Metric.gauge("idgen_segment_aggregated_range_remaining_ratio_min", {
  description: "Lowest fraction (0–1) of this datacenter's range not yet allocated among the biz_tags without " +
    "series of their own (1 when there are none); capacity alerts fire below 0.2"
})
export const rangeRemaining = (attributes: BizTagLabels) =>
  Metric.gauge("idgen_segment_range_remaining", {
    description: "Numbers of this datacenter's range not yet allocated, as of this node's last allocation",
    attributes
  })
export const rangeRemainingRatio = (attributes: BizTagLabels) =>
  Metric.gauge("idgen_segment_range_remaining_ratio", {
    description: "Fraction (0–1) of this datacenter's range not yet allocated; capacity alerts fire below 0.2",
    attributes
  })

// The L1 ring and the run-time tuning of L2, per biz_tag.
export const segmentPreloadThreshold = (attributes: BizTagLabels) =>
  Metric.gauge("idgen_segment_preload_threshold", {
    description: "L2 preload threshold (fraction of a segment consumed) in force for the biz_tag's next segment",
    attributes
  })
export const ringFill = (attributes: BizTagLabels) =>
  Metric.gauge("idgen_segment_l1_ring_ids", {
    description: "Numbers in the biz_tag's L1 ring on this node (0 without a ring)",
    attributes
  })
export const ringCapacity = (attributes: BizTagLabels) =>
  Metric.gauge("idgen_segment_l1_ring_capacity", {
    description: "Slots of the biz_tag's L1 ring on this node (0: no ring, takes go straight to L2)",
    attributes
  })
export const l1Hits = (attributes: BizTagLabels) =>
  Metric.counter("idgen_segment_l1_hits_total", {
    description: "Numbers handed out from the biz_tag's L1 ring",
    incremental: true,
    attributes
  })
export const l2Fallbacks = (attributes: BizTagLabels) =>
  Metric.counter("idgen_segment_l2_fallbacks_total", {
    description: "Numbers handed out from L2 because the biz_tag's L1 ring was empty",
    incremental: true,
    attributes
  })
export const waitTimeouts = (attributes: BizTagLabels) =>
  Metric.counter("idgen_segment_wait_timeouts_total", {
    description: "Takes whose wait for a refill ran out of segment.take_timeout_ms (answered IDGEN-SEG-1003/1002)",
    incremental: true,
    attributes
  })

export const labelsOf = (tag: BizTagRecord): BizTagLabels => ({
  workspace: tag.workspace,
  group: tag.group,
  biz_tag: tag.name
})

interface RefillSeries {
  readonly duration: Metric.Histogram<number>
  readonly failures: Metric.Counter<number>
}

/** What every tracker of one SegmentGenerator shares. */
interface Shared {
  readonly context: Context.Context<never>
  readonly rowRange: (bizTagId: string) => Effect.Effect<Option.Option<DatacenterRange.Range>, unknown>
  /** Share of range left, per aggregated biz_tag. */
  readonly aggregatedRatios: Map<string, number>
}

/**
 * What one biz_tag's refills report: its algorithm's refill latency and failures, and what
 * is left of its range after each segment — into its own series (`own`), or into the
 * aggregate. The row's range never changes: read once, off the refill's path (a refill
 * from the Redis pool must not wait for the database), and again after a failed read.
 *
 * A class, state in fields and behaviour on the prototype: one is kept for every biz_tag
 * this node has served.
 */
class Tracker implements TagMetrics {
  range: DatacenterRange.Range | undefined = undefined
  reading = false
  lastEnd = 0
  readonly shared: Shared
  readonly bizTagId: string
  readonly series: RefillSeries
  readonly own: { readonly remaining: Metric.Gauge<number>; readonly ratio: Metric.Gauge<number> } | undefined

  constructor(shared: Shared, bizTagId: string, series: RefillSeries, own: Tracker["own"]) {
    this.shared = shared
    this.bizTagId = bizTagId
    this.series = series
    this.own = own
  }

  refilled(seconds: number, segment: AllocatedSegment): void {
    this.series.duration.updateUnsafe(seconds, this.shared.context)
    this.lastEnd = segment.end
    if (this.range !== undefined) this.publishLeft(this.range)
    else if (!this.reading) this.readRange()
  }

  refillFailed(error: Errors.IdgenError): void {
    this.series.failures.updateUnsafe(1, this.shared.context)
    if (error._tag === "SegmentExhausted") this.publish(0, 0)
  }

  publishLeft(range: DatacenterRange.Range): void {
    const left = Math.max(0, range.end - this.lastEnd)
    this.publish(left, left / (range.end - range.start + 1))
  }

  readRange(): void {
    this.reading = true
    Effect.runForkWith(this.shared.context)(
      this.shared.rowRange(this.bizTagId).pipe(
        Effect.match({
          onFailure: () => (this.reading = false),
          onSuccess: (found) => {
            this.reading = false
            if (Option.isSome(found)) {
              this.range = found.value
              this.publishLeft(found.value)
            }
          }
        })
      )
    )
  }

  publish(left: number, ratio: number): void {
    const { context, aggregatedRatios } = this.shared
    if (this.own === undefined) {
      aggregatedRatios.set(this.bizTagId, ratio)
      return
    }
    this.own.remaining.updateUnsafe(left, context)
    this.own.ratio.updateUnsafe(ratio, context)
  }
}

/**
 * The tracker of one SegmentGenerator; every series it registered is removed with the scope.
 * `rowRange` reads the range the biz_tag's row in this node's datacenter was created with:
 * the remaining capacity is measured against it, not against the configured R (a row keeps
 * its range when another R is pinned later).
 */
export const make = (options: {
  readonly rowRange: (bizTagId: string) => Effect.Effect<Option.Option<DatacenterRange.Range>, unknown>
  /** The biz_tag's running actor, if any. */
  readonly actorOf: (bizTagId: string) => SegmentActor | undefined
}): Effect.Effect<SegmentMetrics, never, Scope.Scope> =>
  Effect.gen(function*() {
    const context: Context.Context<never> = yield* Effect.context()
    const removals: Array<() => void> = []
    yield* Effect.addFinalizer(() => Effect.sync(() => removals.forEach((remove) => remove())))
    let tracked = 0
    const byTag = new Map<string, TagMetrics>()

    const readGauge = (gauge: Metric.Gauge<number>, get: () => number) => removals.push(ScrapeTime.gaugeUnsafe(gauge, context, get))
    const readCounter = (counter: Metric.Counter<number>, get: () => number) =>
      removals.push(ScrapeTime.counterUnsafe(counter, context, get))

    // On the page from the start: the per-algorithm refill series and the aggregates.
    const refill = {
      segment: { duration: segmentRefillDuration("segment"), failures: segmentRefillFailures("segment") },
      formatted: { duration: segmentRefillDuration("formatted"), failures: segmentRefillFailures("formatted") }
    }
    for (const { duration, failures } of Object.values(refill)) {
      duration.valueUnsafe(context)
      failures.valueUnsafe(context)
      removals.push(() => {
        Metric.removeUnsafe(duration, context)
        Metric.removeUnsafe(failures, context)
      })
    }
    let aggregated = 0
    const aggregatedRatios = new Map<string, number>()
    readGauge(aggregatedTags, () => aggregated)
    readGauge(aggregatedRangeRemainingRatioMin, () => {
      let min = 1
      for (const ratio of aggregatedRatios.values()) min = Math.min(min, ratio)
      return min
    })

    const shared: Shared = { context, rowRange: options.rowRange, aggregatedRatios }
    const seriesOf = (tag: BizTagRecord) => refill[refillAlgorithm(tag)]

    const aggregate = (tag: BizTagRecord): TagMetrics => {
      aggregated++
      return new Tracker(shared, tag.id, seriesOf(tag), undefined)
    }

    const ownSeries = (tag: BizTagRecord): TagMetrics => {
      tracked++
      const labels = labelsOf(tag)
      const read = <A>(f: (a: SegmentActor) => A, otherwise: A) => () => {
        const a = options.actorOf(tag.id)
        return a === undefined ? otherwise : f(a)
      }
      readGauge(segmentBuffered(labels), read((a) => a.buffered(), 0))
      readGauge(segmentCurrentRemaining(labels), read((a) => a.fill().currentRemaining, 0))
      readGauge(
        segmentBufferFill(labels),
        read((a) => {
          const fill = a.fill()
          return (fill.currentRemaining > 0 ? 1 - fill.consumedFraction : 0) + (fill.nextLoaded ? 1 : 0)
        }, 0)
      )
      readGauge(segmentStep(labels), read((a) => a.currentStep(), tag.step))
      readCounter(segmentLoads(labels), read((a) => a.stats().loads, 0))
      readCounter(segmentWaits(labels), read((a) => a.stats().waits, 0))
      readGauge(segmentPreloadThreshold(labels), read((a) => a.preloadThreshold(), 0))
      readGauge(ringFill(labels), read((a) => a.ring()?.length ?? 0, 0))
      readGauge(ringCapacity(labels), read((a) => a.ring()?.capacity ?? 0, 0))
      readCounter(l1Hits(labels), read((a) => a.stats().l1Hits, 0))
      readCounter(l2Fallbacks(labels), read((a) => a.stats().l2Fallbacks, 0))
      readCounter(waitTimeouts(labels), read((a) => a.stats().timeouts, 0))
      const remaining = rangeRemaining(labels)
      const remainingRatio = rangeRemainingRatio(labels)
      removals.push(() => {
        Metric.removeUnsafe(remaining, context)
        Metric.removeUnsafe(remainingRatio, context)
      })
      return new Tracker(shared, tag.id, seriesOf(tag), { remaining, ratio: remainingRatio })
    }

    const track = (tag: BizTagRecord): TagMetrics => {
      const known = byTag.get(tag.id)
      if (known !== undefined) return known
      if (!tag.autoCreated && tracked === maxTrackedTags) {
        tracked++
        Effect.runForkWith(context)(
          Effect.logWarning(`more than ${maxTrackedTags} operator-created biz_tags active: further ones are aggregated`)
        )
      }
      const metrics = tag.autoCreated || tracked >= maxTrackedTags ? aggregate(tag) : ownSeries(tag)
      byTag.set(tag.id, metrics)
      return metrics
    }

    return { track }
  })

