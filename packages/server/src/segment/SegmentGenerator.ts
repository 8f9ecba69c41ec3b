/**
 * Segment IDs for every active biz_tag of this node: one SegmentActor per biz_tag,
 * created on first use. The actors' loads and ring refills run in fibers of one FiberSet
 * (supervised, interrupted with the generator); an idle actor has none.
 *
 * A sweep fiber looks at every actor periodically, a bounded batch per tick: a biz_tag whose rate reaches
 * `segment.l1_hot_ids_per_second` gets an L1 ring (within the memory budget, `L1Rings.ts`);
 * one unused for `segment.idle_release_ms` is released — its load in flight stopped, its ring's
 * memory returned, the numbers left in its buffers abandoned (gaps, never duplicates:
 * they were allocated to this node and nobody else issues them); its next use starts a
 * fresh actor, whose segments lie above everything allocated before.
 *
 * Actors are keyed by the biz_tag's row id, which a re-creation after a deletion changes
 * (`SqlBizTagRepo`): a node that has the new record never serves the old incarnation's
 * buffer, even if it missed the deletion. When it learns that a biz_tag changed, `retire`
 * releases the actor of an incarnation that is no longer live, as the idle release would,
 * and the supply forgets its pool.
 */
import { Errors, Names } from "@idgen/core"
import { Clock, Context, Effect, Exit, FiberSet, Layer, Semaphore } from "effect"
import { currentConfig } from "../config/HotReload.ts"
import { ServerConfig } from "../config/ServerConfig.ts"
import { tracked } from "../observability/EventLoopDelay.ts"
import * as SegmentMetrics from "./SegmentMetrics.ts"
import type { BizTagRecord } from "../storage/Records.ts"
import { SegmentRepo } from "../storage/SegmentRepo.ts"
import { makeCpuPressure } from "./CpuPressure.ts"
import * as L1Rings from "./L1Rings.ts"
import * as SegmentActor from "./SegmentActor.ts"
import { SweepCursor } from "./SweepCursor.ts"
import { SegmentSupply } from "./SegmentSupply.ts"

/** The biz_tag's name as `Names.keyString` writes it: the same for every incarnation. */
const nameOf = (tag: BizTagRecord) => Names.keyString({ workspace: tag.workspace, group: tag.group, bizTag: tag.name })

/**
 * Storage names the biz_tag by its row id; clients know it by workspace, group and name,
 * which the error reaching them carries too.
 */
const named = (error: Errors.SegmentExhausted, tag: BizTagRecord) =>
  new Errors.SegmentExhausted({
    message: error.message,
    details: { workspace: tag.workspace, group: tag.group, biz_tag: tag.name, ...error.details }
  })

/** Actors the idle/hot sweep looks at per tick. */
export const SWEEP_BATCH = 200

export class SegmentGenerator extends Context.Service<SegmentGenerator, {
  /** The actor of a biz_tag, started on first use. */
  actorFor(tag: BizTagRecord): Effect.Effect<SegmentActor.SegmentActor>
  /**
   * The actor if it is already running: the synchronous fast path. Hands the record's
   * step to the actor (used from its next load), so a changed biz_tag step reaches it.
   */
  runningActor(tag: BizTagRecord): SegmentActor.SegmentActor | undefined
  /** Bytes of all L1 rings (bounded by `segment.l1_memory_budget_bytes`). */
  ringMemoryBytes(): number
  /** Whether an actor of `key` (of any incarnation) runs on this node. */
  serves(key: Names.SequenceKey): boolean
  /** Releases the actor of `key` unless it is the one of `liveId` (none: the biz_tag is deleted). */
  retire(key: Names.SequenceKey, liveId: string | undefined): Effect.Effect<void>
}>()("@idgen/server/segment/SegmentGenerator") {
  static readonly layer = Layer.effect(
    SegmentGenerator,
    Effect.gen(function*() {
      const config = yield* ServerConfig
      const current = yield* currentConfig
      const supply = yield* SegmentSupply
      const fork = yield* FiberSet.makeRuntime<never, void, never>()
      const clock = yield* Clock.Clock
      const actors = new Map<string, Running>()
      /** The running actors per biz_tag name (`Names.keyString`): one, or more while incarnations change. */
      const byName = new Map<string, Set<Running>>()
      const budget = new L1Rings.RingBudget()
      // Starts wait for a release in progress: a biz_tag's next actor loads only once the
      // released one's load is interrupted (one load per biz_tag at a time on this node).
      const starting = yield* Semaphore.make(1)
      const pressure = makeCpuPressure()
      const repo = yield* SegmentRepo
      const metrics = yield* SegmentMetrics.make({
        rowRange: (bizTagId) => repo.rowRange(bizTagId, config.node.datacenterId),
        actorOf: (bizTagId) => actors.get(bizTagId)?.actor
      })

      /**
       * A biz_tag's running actor and what the generator keeps about it. It is the actor's
       * source: the live configuration on the prototype (read at each use, so changes reach
       * running actors), the biz_tag's step as last seen in its record, its allocations.
       * A class, state in fields: one is kept for every biz_tag in use on this node.
       */
      class Running implements SegmentActor.SegmentSource {
        readonly actor: SegmentActor.SegmentActor
        readonly tag: BizTagRecord
        readonly observed: SegmentMetrics.TagMetrics
        baseStep: number
        /** Slots of its ring (0: none), returned to the budget at release. */
        ringCapacity = 0
        /** `actor.activity()` at the last sweep that saw it change, and when. */
        lastActivity = 0
        lastActiveMs: number
        /** `actor.handedOut()` at the previous sweep, and when (the observed rate). */
        lastHandedOut = 0
        lastSampleMs: number

        constructor(tag: BizTagRecord, now: number) {
          this.tag = tag
          this.observed = metrics.track(tag)
          this.baseStep = tag.step
          this.lastActiveMs = now
          this.lastSampleMs = now
          this.actor = SegmentActor.make(this, fork, clock)
        }

        get preloadThreshold() {
          return current().segment.preloadThreshold
        }
        get takeTimeoutMillis() {
          return current().segment.takeTimeoutMillis
        }
        get targetSegmentSeconds() {
          return current().segment.targetSegmentSeconds
        }
        get maxStep() {
          return current().segment.maxStep
        }
        pressure() {
          return pressure()
        }

        allocate(step: number) {
          const { observed, tag } = this
          const startMs = performance.now()
          return supply.next(tag, step).pipe(
            Effect.mapError((error) => error._tag === "SegmentExhausted" ? named(error, tag) : error),
            Effect.onExit((exit) =>
              Effect.sync(() => {
                if (Exit.isSuccess(exit)) return observed.refilled((performance.now() - startMs) / 1000, exit.value)
                const error = Exit.findErrorOption(exit)
                if (error._tag === "Some") observed.refillFailed(error.value)
              })
            ),
            // Each load is its own trace, not part of the request that asked for it.
            Effect.withSpan("SegmentGenerator.refill", {
              root: true,
              attributes: { "idgen.workspace": tag.workspace, "idgen.group": tag.group, "idgen.biz_tag": tag.name, "idgen.step": step }
            })
          )
        }

        successor() {
          return actorFor(this.tag)
        }
      }

      // Synchronous: nothing can start a second actor for the biz_tag meanwhile.
      const start = (tag: BizTagRecord) => {
        const running = new Running(tag, clock.currentTimeMillisUnsafe())
        actors.set(tag.id, running)
        const name = nameOf(tag)
        const named = byName.get(name)
        if (named === undefined) byName.set(name, new Set([running]))
        else named.add(running)
        if (current().segment.l1.hotIdsPerSecond === 0) attachRing(running)
        return running.actor
      }

      const actorFor = (tag: BizTagRecord): Effect.Effect<SegmentActor.SegmentActor> => {
        const actor = runningActor(tag)
        if (actor !== undefined) return Effect.succeed(actor)
        return Semaphore.withPermits(starting, 1)(Effect.sync(() => runningActor(tag) ?? start(tag)))
      }

      const runningActor = (tag: BizTagRecord) => {
        const running = actors.get(tag.id)
        if (running === undefined) return undefined
        running.baseStep = tag.step
        return running.actor
      }

      const attachRing = (running: Running) => {
        const shape = budget.grant(current().segment.l1)
        if (shape === undefined) return
        running.ringCapacity = shape.capacity
        running.actor.attachRing(shape)
      }

      const release = Effect.fnUntraced(function*(tagId: string, running: Running) {
        actors.delete(tagId)
        const name = nameOf(running.tag)
        const named = byName.get(name)
        named?.delete(running)
        if (named?.size === 0) byName.delete(name)
        budget.release(running.ringCapacity)
        yield* running.actor.stop()
      })

      // Idle release and hot promotion, from what each actor counts anyway (no hot-path cost).
      // A tick looks at `SWEEP_BATCH` actors (a few µs each), so its loop time stays well under
      // a millisecond whatever the number of biz_tags; with n actors each is seen every
      // ceil(n / SWEEP_BATCH) ticks, its rate measured over its own interval.
      const cursor = new SweepCursor(actors, SWEEP_BATCH)
      const sweep = Effect.gen(function*() {
        const now = clock.currentTimeMillisUnsafe()
        const { idleReleaseMillis, l1 } = current().segment
        for (const [tagId, running] of cursor.next()) {
          const { actor } = running
          const activity = actor.activity()
          if (activity !== running.lastActivity || actor.waiting() > 0) {
            running.lastActivity = activity
            running.lastActiveMs = now
          } else if (idleReleaseMillis > 0 && now - running.lastActiveMs >= idleReleaseMillis) {
            yield* starting.withPermits(1)(release(tagId, running))
            continue
          }
          const handedOut = actor.handedOut()
          const seconds = (now - running.lastSampleMs) / 1000
          if (running.ringCapacity === 0 && seconds > 0 && (handedOut - running.lastHandedOut) / seconds >= l1.hotIdsPerSecond) {
            attachRing(running)
          }
          running.lastHandedOut = handedOut
          running.lastSampleMs = now
        }
      })
      yield* Effect.suspend(() => Effect.sleep(L1Rings.sweepIntervalMillis(current().segment.idleReleaseMillis))).pipe(
        Effect.andThen(tracked("segment idle/hot sweep")(sweep)),
        Effect.forever,
        Effect.forkScoped
      )

      const retire = (key: Names.SequenceKey, liveId: string | undefined) =>
        starting.withPermits(1)(Effect.suspend(() => {
          const stale = [...byName.get(Names.keyString(key)) ?? []].filter((running) => running.tag.id !== liveId)
          return Effect.forEach(stale, (running) =>
            Effect.andThen(release(running.tag.id, running), supply.retire(running.tag.id)), { discard: true })
        }))

      return SegmentGenerator.of({
        actorFor,
        runningActor,
        ringMemoryBytes: () => budget.usedBytes,
        serves: (key) => byName.has(Names.keyString(key)),
        retire
      })
    })
  )
}
