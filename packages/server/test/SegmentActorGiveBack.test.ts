/**
 * A take refused at range exhaustion (IDGEN-SEG-1001) leaves the numbers it holds to later
 * takes — but only while that keeps a node's stream increasing: not when a concurrent take
 * got a higher number since (then they are a gap, which the contract allows).
 */
import { assert, describe, it } from "@effect/vitest"
import { Errors } from "@idgen/core"
import * as SegmentActor from "@idgen/server/segment/SegmentActor"
import { Clock, Effect, Exit } from "effect"

const exhausted = new Errors.SegmentExhausted({ message: "no numbers left", details: {} })

/**
 * An actor over `segments`, then exhaustion. `afterLoad(n)` runs in the load's own fiber
 * right after load `n` installed its segment and woke the waiting takes — before they run,
 * as a take on another request can.
 */
const actorOver = (
  segments: ReadonlyArray<{ readonly start: number; readonly end: number }>,
  afterLoad: (actor: SegmentActor.SegmentActor, load: number) => void
) =>
  Effect.gen(function*() {
    let loads = 0
    const source: SegmentActor.SegmentSource = {
      baseStep: 3,
      preloadThreshold: 0.5,
      targetSegmentSeconds: 60,
      maxStep: 3,
      takeTimeoutMillis: 60_000,
      pressure: () => 0,
      allocate: () => Effect.suspend(() => {
        const segment = segments[loads++]
        return segment === undefined ? Effect.fail(exhausted) : Effect.succeed(segment)
      }),
      successor: () => Effect.die("no successor in this test")
    }
    const actor: SegmentActor.SegmentActor = SegmentActor.make(
      source,
      (effect) => Effect.runFork(Effect.tap(effect, () => Effect.sync(() => afterLoad(actor, loads)))),
      yield* Clock.Clock
    )
    return actor
  })

describe("SegmentActor at range exhaustion", () => {
  it.effect("a refused batch's numbers go to the next takes that fit when nothing was handed out since", () =>
    Effect.gen(function*() {
      const actor = yield* actorOver([{ start: 1, end: 3 }, { start: 4, end: 5 }], () => {})
      assert.deepStrictEqual(yield* actor.take(1), [1])
      const refused = yield* Effect.exit(actor.take(9))
      assert.isTrue(Exit.hasFails(refused), String(refused))
      assert.deepStrictEqual(yield* actor.take(2), [2, 3])
      assert.deepStrictEqual(yield* actor.take(2), [4, 5])
    }))

  it.effect("takes on other requests right after each load never get a number below what the refused batch gives back", () =>
    Effect.gen(function*() {
      // In the order handed out: the batch's numbers are taken when a load wakes it, before
      // the load's fiber goes on (where another request's take is simulated).
      const handedOut: Array<number> = []
      const actor = yield* actorOver([{ start: 1, end: 3 }, { start: 4, end: 5 }], (actor) => {
        const v = actor.takeOneNow()
        if (v >= 0) handedOut.push(v)
      })
      const refused = yield* Effect.exit(actor.take(6))
      assert.isTrue(Exit.hasFails(refused), String(refused))
      while (true) {
        const next = yield* Effect.exit(actor.take(1))
        if (Exit.isFailure(next)) break
        handedOut.push(...next.value)
      }
      assert.deepStrictEqual(handedOut, [1, 2, 3, 4, 5])
    }))
})
