/**
 * Segment IDs for every active biz_tag of this node: one SegmentActor per biz_tag,
 * created on first use, its refill loop supervised in a FiberMap keyed by biz_tag id.
 */
import { Context, Effect, FiberMap, Layer, Semaphore } from "effect"
import { ServerConfig } from "../config/ServerConfig.ts"
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
      const repo = yield* SegmentRepo
      const fibers = yield* FiberMap.make<string>()
      const actors = new Map<string, SegmentActor.SegmentActor>()
      const starting = yield* Semaphore.make(1)
      const pressure = makeCpuPressure()

      const start = Effect.fn("SegmentGenerator.start")(function*(tag: BizTagRecord) {
        const existing = actors.get(tag.id)
        if (existing) return existing
        const { actor, refillLoop } = yield* SegmentActor.make(
          {
            baseStep: tag.step,
            preloadThreshold: config.segment.preloadThreshold,
            targetSegmentSeconds: config.segment.targetSegmentSeconds,
            maxStep: config.segment.maxStep,
            pressure
          },
          (step) =>
            repo.allocate({
              bizTagId: tag.id,
              datacenterId: config.node.datacenterId,
              step,
              node: config.node.name
            })
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
