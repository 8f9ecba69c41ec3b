/**
 * `SingleFlight`: callers that miss a key while its lookup runs share it; its answer, value or
 * failure, reaches no later caller; a caller that goes away does not take the lookup from the
 * others. Each lookup here waits on a gate the test opens, so "while it runs" is exact.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber } from "effect"
import * as SingleFlight from "@idgen/server/cache/SingleFlight"

/** A lookup that counts its runs and answers `answer(run)` once `gate` opens. */
const gated = <A, E>(answer: (run: number) => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const gate = yield* Deferred.make<void>()
    const counts = { started: 0, interrupted: 0 }
    const flights = yield* SingleFlight.make((_key: string) =>
      Effect.suspend(() => {
        const run = ++counts.started
        return Effect.andThen(Deferred.await(gate), answer(run))
      }).pipe(Effect.onInterrupt(() => Effect.sync(() => counts.interrupted++))))
    return { flights, gate, counts, open: Deferred.succeed(gate, undefined) }
  })

/** Forks `n` callers of `key` and lets them reach the lookup. */
const callers = <A, E>(flights: SingleFlight.SingleFlight<string, A, E>, key: string, n: number) =>
  Effect.gen(function*() {
    const fibers = yield* Effect.forEach(
      Array.from({ length: n }),
      () => Effect.forkChild(SingleFlight.run(flights, key), { startImmediately: true })
    )
    yield* Effect.yieldNow
    return fibers
  })

describe("SingleFlight", () => {
  it.effect("callers that miss a key while its lookup runs share it; other keys have their own", () =>
    Effect.gen(function*() {
      const { flights, counts, open } = yield* gated((run) => Effect.succeed(run))
      const a = yield* callers(flights, "a", 64)
      const b = yield* callers(flights, "b", 2)
      assert.strictEqual(counts.started, 2)
      yield* open
      assert.deepStrictEqual(new Set(yield* Fiber.joinAll(a)).size, 1)
      assert.deepStrictEqual(new Set(yield* Fiber.joinAll(b)).size, 1)
      assert.strictEqual(counts.started, 2)
    }))

  it.effect("a failure reaches the callers waiting for it, and the next caller looks again", () =>
    Effect.gen(function*() {
      const { flights, counts, open } = yield* gated((run) => run === 1 ? Effect.fail("down") : Effect.succeed(run))
      const waiting = yield* callers(flights, "k", 8)
      yield* open
      for (const fiber of waiting) assert.deepStrictEqual(yield* Fiber.await(fiber), Exit.fail("down"))
      assert.strictEqual(yield* SingleFlight.run(flights, "k"), 2)
      assert.strictEqual(counts.started, 2)
    }))

  it.effect("the first caller interrupted, the others still get the answer of the same lookup", () =>
    Effect.gen(function*() {
      const { flights, counts, open } = yield* gated(() => Effect.succeed("answer"))
      const [first, ...others] = yield* callers(flights, "k", 8)
      yield* Fiber.interrupt(first!)
      yield* open
      assert.deepStrictEqual(yield* Fiber.joinAll(others), others.map(() => "answer"))
      assert.deepStrictEqual(counts, { started: 1, interrupted: 0 })
    }))

  it.effect("every caller gone, the lookup is interrupted and the next caller starts a new one", () =>
    Effect.gen(function*() {
      const { flights, counts, open } = yield* gated((run) => Effect.succeed(run))
      const all = yield* callers(flights, "k", 3)
      yield* Fiber.interruptAll(all)
      assert.deepStrictEqual(counts, { started: 1, interrupted: 1 })
      yield* open
      assert.strictEqual(yield* SingleFlight.run(flights, "k"), 2)
    }))

  it.effect("after forget, a new caller starts a new lookup; the first still answers its own callers", () =>
    Effect.gen(function*() {
      const { flights, counts, open } = yield* gated((run) => Effect.succeed(run))
      const before = yield* callers(flights, "k", 2)
      SingleFlight.forget(flights, "k")
      const after = yield* callers(flights, "k", 2)
      assert.strictEqual(counts.started, 2)
      yield* open
      assert.deepStrictEqual(yield* Fiber.joinAll(before), [1, 1])
      assert.deepStrictEqual(yield* Fiber.joinAll(after), [2, 2])
    }))
})
