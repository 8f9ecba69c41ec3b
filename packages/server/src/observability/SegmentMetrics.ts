/**
 * Per-biz_tag segment metrics. What lives in the actor's own state (buffer fill, step,
 * loads, waits) is read at scrape time, so the take path pays nothing; what only a refill
 * knows (its latency, how much of the datacenter's range is left) is pushed by the refill
 * fiber, once per segment.
 *
 * Cardinality: one series set per biz_tag this node has served, capped at `maxTrackedTags`;
 * biz_tags past the cap are served but not broken out (a warning says so once).
 */
import type { Errors } from "@idgen/core"
import { type Context, Effect, Metric, type Scope } from "effect"
import type { SegmentActor } from "../segment/SegmentActor.ts"
import type { AllocatedSegment, BizTagRecord } from "../storage/Records.ts"
import * as Metrics from "./Metrics.ts"

export const maxTrackedTags = 2000

export interface TagMetrics {
  /** A segment arrived after `seconds`. */
  readonly refilled: (seconds: number, segment: AllocatedSegment) => void
  readonly refillFailed: (error: Errors.IdgenError) => void
}

const untracked: TagMetrics = { refilled: () => {}, refillFailed: () => {} }

export interface SegmentMetrics {
  /** Starts the series of `tag`, read from `actor()` (set once the actor exists). */
  readonly track: (tag: BizTagRecord, actor: () => SegmentActor | undefined) => TagMetrics
}

export const labelsOf = (tag: BizTagRecord): Metrics.BizTagLabels => ({
  workspace: tag.workspace,
  group: tag.group,
  biz_tag: tag.name
})

/**
 * The tracker of one SegmentGenerator; every series it registered is removed with the scope.
 * `rangeSize`/`datacenterId` locate this node's range: datacenter d owns [d*R + 1, (d+1)*R].
 */
export const make = (options: {
  readonly rangeSize: number
  readonly datacenterId: number
}): Effect.Effect<SegmentMetrics, never, Scope.Scope> =>
  Effect.gen(function*() {
    const context: Context.Context<never> = yield* Effect.context()
    const removals: Array<() => void> = []
    yield* Effect.addFinalizer(() => Effect.sync(() => removals.forEach((remove) => remove())))
    const rangeEnd = (options.datacenterId + 1) * options.rangeSize
    let tracked = 0

    const readGauge = (gauge: Metric.Gauge<number>, get: () => number) =>
      removals.push(Metric.registerUnsafe(gauge, context, { get: () => ({ value: get() }), update: noop, modify: noop }).remove)
    const readCounter = (counter: Metric.Counter<number>, get: () => number) =>
      removals.push(
        Metric.registerUnsafe(counter, context, {
          get: () => ({ count: get(), incremental: true }),
          update: noop,
          modify: noop
        }).remove
      )

    const track = (tag: BizTagRecord, actor: () => SegmentActor | undefined): TagMetrics => {
      if (tracked >= maxTrackedTags) {
        if (tracked++ === maxTrackedTags) {
          Effect.runForkWith(context)(
            Effect.logWarning(`more than ${maxTrackedTags} biz_tags active: further ones get no per-biz_tag metrics`)
          )
        }
        return untracked
      }
      tracked++
      const labels = labelsOf(tag)
      const read = <A>(f: (a: SegmentActor) => A, otherwise: A) => () => {
        const a = actor()
        return a === undefined ? otherwise : f(a)
      }
      readGauge(Metrics.segmentBuffered(labels), read((a) => a.buffered(), 0))
      readGauge(Metrics.segmentCurrentRemaining(labels), read((a) => a.fill().currentRemaining, 0))
      readGauge(
        Metrics.segmentBufferFill(labels),
        read((a) => {
          const fill = a.fill()
          return (fill.currentRemaining > 0 ? 1 - fill.consumedFraction : 0) + (fill.nextLoaded ? 1 : 0)
        }, 0)
      )
      readGauge(Metrics.segmentStep(labels), read((a) => a.currentStep(), tag.step))
      readCounter(Metrics.segmentLoads(labels), read((a) => a.stats().loads, 0))
      readCounter(Metrics.segmentWaits(labels), read((a) => a.stats().waits, 0))

      const refillDuration = Metrics.segmentRefillDuration(labels)
      const refillFailures = Metrics.segmentRefillFailures(labels)
      const remaining = Metrics.rangeRemaining(labels)
      const remainingRatio = Metrics.rangeRemainingRatio(labels)
      removals.push(() => {
        Metric.removeUnsafe(refillDuration, context)
        Metric.removeUnsafe(refillFailures, context)
        Metric.removeUnsafe(remaining, context)
        Metric.removeUnsafe(remainingRatio, context)
      })
      const setRemaining = (left: number) => {
        remaining.updateUnsafe(left, context)
        remainingRatio.updateUnsafe(left / options.rangeSize, context)
      }
      return {
        refilled: (seconds, segment) => {
          refillDuration.updateUnsafe(seconds, context)
          setRemaining(Math.max(0, rangeEnd - segment.end))
        },
        refillFailed: (error) => {
          refillFailures.updateUnsafe(1, context)
          if (error._tag === "SegmentExhausted") setRemaining(0)
        }
      }
    }

    return { track }
  })

const noop = () => {}
