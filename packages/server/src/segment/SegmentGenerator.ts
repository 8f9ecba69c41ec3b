/**
 * Segment IDs for every active biz_tag of this node: one SegmentActor per biz_tag,
 * created on first use, its refill loop supervised in a FiberMap keyed by biz_tag id.
 */
import { Context, Effect, Exit, FiberMap, Layer, Semaphore } from "effect"
import { currentConfig } from "../config/HotReload.ts"
import { ServerConfig } from "../config/ServerConfig.ts"
import * as SegmentMetrics from "../observability/SegmentMetrics.ts"
import type { BizTagRecord } from "../storage/Records.ts"
import { SegmentRepo } from "../storage/SegmentRepo.ts"
import { makeCpuPressure } from "./CpuPressure.ts"
import * as SegmentActor from "./SegmentActor.ts"

export class SegmentGenerator extends Context.Service<SegmentGenerator, {
  /** The actor of a biz_tag, started on first use. */
  actorFor(tag: BizTagRecord): Effect.Effect<SegmentActor.SegmentActor>
  /** The actor if it is already running: the synchronous fast path. */
  runningActor(tagId: string): SegmentActor.SegmentActor | undefined
}>()("@idgen/server/segment/SegmentGenerator") {
  static readonly layer = Layer.effect(
    SegmentGenerator,
    Effect.gen(function*() {
      const config = yield* ServerConfig
      const current = yield* currentConfig
      const repo = yield* SegmentRepo
      const fibers = yield* FiberMap.make<string>()
      const actors = new Map<string, SegmentActor.SegmentActor>()
      const starting = yield* Semaphore.make(1)
      const pressure = makeCpuPressure()
      const metrics = yield* SegmentMetrics.make({
        rangeSize: config.segment.rangeSize,
        datacenterId: config.node.datacenterId
      })

      const start = Effect.fn("SegmentGenerator.start")(function*(tag: BizTagRecord) {
        const existing = actors.get(tag.id)
        if (existing) return existing
        const observed = metrics.track(tag, () => actors.get(tag.id))
        const { actor, refillLoop } = yield* SegmentActor.make(
          {
            baseStep: tag.step,
            // Live settings: read at each load (the threshold when the actor starts).
            preloadThreshold: current().segment.preloadThreshold,
            get targetSegmentSeconds() {
              return current().segment.targetSegmentSeconds
            },
            get maxStep() {
              return current().segment.maxStep
            },
            pressure
          },
          (step) => {
            const startMs = performance.now()
            return repo.allocate({
              bizTagId: tag.id,
              datacenterId: config.node.datacenterId,
              step,
              node: config.node.name
            }).pipe(
              Effect.onExit((exit) =>
                Effect.sync(() => {
                  if (Exit.isSuccess(exit)) return observed.refilled((performance.now() - startMs) / 1000, exit.value)
                  const error = Exit.findErrorOption(exit)
                  if (error._tag === "Some") observed.refillFailed(error.value)
                })
              ),
              // Each load is its own trace: the loop outlives the request that started it.
              Effect.withSpan("SegmentGenerator.refill", {
                root: true,
                attributes: { "idgen.workspace": tag.workspace, "idgen.group": tag.group, "idgen.biz_tag": tag.name, "idgen.step": step }
              })
            )
          }
        )
        yield* FiberMap.run(fibers, tag.id, refillLoop)
        actors.set(tag.id, actor)
        return actor
      })

      const actorFor = (tag: BizTagRecord) => {
        const actor = actors.get(tag.id)
        return actor ? Effect.succeed(actor) : Semaphore.withPermits(starting, 1)(start(tag))
      }

      return SegmentGenerator.of({ actorFor, runningActor: (tagId) => actors.get(tagId) })
    })
  )
}
