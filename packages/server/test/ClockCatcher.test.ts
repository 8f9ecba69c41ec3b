import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { load } from "@idgen/server/config/ConfigLoader"
import { ServerConfig } from "@idgen/server/config/ServerConfig"
import { ClockCatcher } from "@idgen/server/snowflake/ClockCatcher"

const start = 1_800_000_000_000

const Catcher = ClockCatcher.layer.pipe(Layer.provide(Layer.effect(ServerConfig, load({}))))

const run = <A, E>(effect: Effect.Effect<A, E, ClockCatcher>) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(start)
    return yield* effect
  }).pipe(Effect.provide(Catcher))

describe("ClockCatcher", () => {
  it.effect("a target already reached does not wait", () =>
    run(Effect.gen(function*() {
      const catcher = yield* ClockCatcher
      yield* catcher.waitUntil(start)
      assert.strictEqual(catcher.waiting(), 0)
    })))

  it.effect("releases every waiter whose millisecond has come, and only those", () =>
    run(Effect.gen(function*() {
      const catcher = yield* ClockCatcher
      const soon = yield* Effect.forkChild(catcher.waitUntil(start + 1))
      const later = yield* Effect.forkChild(catcher.waitUntil(start + 4))
      const alsoSoon = yield* Effect.forkChild(catcher.waitUntil(start + 1))
      yield* Effect.yieldNow
      assert.strictEqual(catcher.waiting(), 3)
      yield* TestClock.adjust(1)
      yield* Fiber.join(soon)
      yield* Fiber.join(alsoSoon)
      assert.isUndefined(later.pollUnsafe())
      assert.strictEqual(catcher.waiting(), 1)
      yield* TestClock.adjust(3)
      yield* Fiber.join(later)
      assert.strictEqual(catcher.waiting(), 0)
    })))

  it.effect("a further step back beyond the wait tier releases the waiter to decide again", () =>
    run(Effect.gen(function*() {
      const catcher = yield* ClockCatcher
      // The next millisecond: the catcher re-reads the clock on every turn.
      const waiter = yield* Effect.forkChild(catcher.waitUntil(start + 1))
      yield* Effect.yieldNow
      assert.strictEqual(catcher.waiting(), 1)
      // Default wait threshold 5 ms: a target 301 ms ahead no longer fits it.
      yield* TestClock.setTime(start - 300)
      yield* Fiber.join(waiter)
      assert.strictEqual(catcher.waiting(), 0)
    })))

  it.effect("an interrupted waiter leaves the queue", () =>
    run(Effect.gen(function*() {
      const catcher = yield* ClockCatcher
      const waiter = yield* Effect.forkChild(catcher.waitUntil(start + 2))
      yield* Effect.yieldNow
      assert.strictEqual(catcher.waiting(), 1)
      yield* Fiber.interrupt(waiter)
      assert.strictEqual(catcher.waiting(), 0)
    })))
})
