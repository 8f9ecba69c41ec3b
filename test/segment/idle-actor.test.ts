/**
 * An idle segment actor is plain state: once its loads and ring refills are done, nothing of
 * the generator keeps running for it — no fiber parked per biz_tag (issue 13 §1: 2,000
 * biz_tags known to a node must not cost it tens of MB of fibers and their contexts).
 * Fibers are counted by the runtime's own start/end hook (`Metric.FiberRuntimeMetrics`),
 * given to the generator and to the requests that use it — not to storage, whose pool
 * keeps fibers of its own.
 */
import { assert, it } from "@effect/vitest"
import { Effect, Layer, Metric, type Scope } from "effect"
import { SegmentGenerator } from "@idgen/server/segment/SegmentGenerator"
import { eventually } from "../support/Eventually.ts"
import { createTag, node, storage } from "./support.ts"

/** Live fibers started with the counting hook in their context. */
const fiberCount = () => {
  let live = 0
  const service: Metric.FiberRuntimeMetricsService = {
    recordFiberStart: () => live++,
    recordFiberEnd: () => live--
  }
  return { live: () => live, service }
}

type Counted = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

/** `body` on a fresh generator counting its fibers; `counted` counts the fibers of an effect of the body too. */
const run = <A, E>(
  overrides: Record<string, unknown>,
  body: (counted: Counted, fibers: () => number) => Effect.Effect<A, E, SegmentGenerator | Layer.Success<ReturnType<typeof storage>> | Scope.Scope>
) => {
  const fibers = fiberCount()
  const hook = Layer.succeed(Metric.FiberRuntimeMetrics, fibers.service)
  return body(Effect.provideService(Metric.FiberRuntimeMetrics, fibers.service), fibers.live).pipe(
    Effect.provide(node.pipe(Layer.provide(hook), Layer.provideMerge(storage({ segment: overrides })))),
    Effect.scoped
  )
}

for (const [kind, overrides] of [
  ["L2 only", { l1_capacity: 0 }],
  ["with an L1 ring", { l1_hot_ids_per_second: 0, l1_capacity: 256 }]
] as const) {
  it.live(`${kind}: 40 biz_tags served past their preload, then idle, hold no fiber`, () =>
    run(overrides, (counted, fibers) =>
      Effect.gen(function*() {
        const generator = yield* SegmentGenerator
        const tags = yield* Effect.forEach(Array.from({ length: 40 }, (_, i) => i), (i) => createTag(`idle-${i}`, 100))
        // The generator's own fibers (its sweep), before any biz_tag.
        const own = fibers()
        assert.isAbove(own, 0, "the hook counts the generator's fibers")
        yield* counted(Effect.forEach(tags, (tag) =>
          Effect.gen(function*() {
            const actor = yield* generator.actorFor(tag)
            // Past the 10 % preload threshold, through the ring when there is one: a load
            // for the first segment, one for the next, ring refills in between.
            const taken = yield* actor.take(30)
            assert.strictEqual(new Set(taken).size, 30)
            yield* eventually(`${tag.name}: its next segment loaded`, 10_000, Effect.sync(() => actor.stats().loads >= 2), 10)
          }), { concurrency: 8 }))
        yield* eventually(
          `the generator's fibers back to its own ${own}`,
          10_000,
          Effect.sync(() => fibers() === own),
          10
        )
        assert.strictEqual(tags.filter((tag) => generator.runningActor(tag) !== undefined).length, 40, "the actors are kept")
      })), { timeout: 60_000 })
}
