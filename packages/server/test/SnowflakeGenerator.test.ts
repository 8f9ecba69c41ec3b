import { assert, describe, it } from "@effect/vitest"
import { Snowflake } from "@idgen/core"
import { Effect, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { load } from "../src/config/ConfigLoader.ts"
import { ServerConfig } from "../src/config/ServerConfig.ts"
import { SnowflakeGenerator } from "../src/snowflake/SnowflakeGenerator.ts"
import { WorkerIdentity } from "../src/snowflake/WorkerIdentity.ts"

const epochMs = Snowflake.DEFAULT_EPOCH_MS
const start = epochMs + 1_000_000

const Generator = SnowflakeGenerator.layer.pipe(
  Layer.provideMerge(WorkerIdentity.layerStatic),
  Layer.provideMerge(Layer.effect(ServerConfig, load({ IDGEN_DATACENTER_ID: "3", IDGEN_WORKER_ID: "42" })))
)

const decode = (id: string) => Snowflake.decompose(BigInt(id), epochMs)

const run = <A, E>(effect: Effect.Effect<A, E, SnowflakeGenerator>) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(start)
    return yield* effect
  }).pipe(Effect.provide(Generator))

describe("SnowflakeGenerator", () => {
  it.effect("issues 1024 IDs in one millisecond with the configured node bits", () =>
    run(Effect.gen(function*() {
      const generator = yield* SnowflakeGenerator
      const ids = yield* generator.next(1024)
      const parts = ids.map(decode)
      assert.strictEqual(new Set(ids).size, 1024)
      assert.isTrue(parts.every((p) => p.timestampMs === start && p.datacenterId === 3 && p.workerId === 42))
      assert.deepStrictEqual(parts.map((p) => p.sequence), Array.from({ length: 1024 }, (_, i) => i))
    })))

  it.effect("waits for the next millisecond when the sequence overflows", () =>
    run(Effect.gen(function*() {
      const generator = yield* SnowflakeGenerator
      yield* generator.next(1024)
      const waiting = yield* Effect.forkChild(generator.next(1))
      yield* Effect.yieldNow
      assert.isUndefined(waiting.pollUnsafe())
      yield* TestClock.adjust(1)
      const [id] = yield* Fiber.join(waiting)
      assert.deepStrictEqual(decode(id!), { timestampMs: start + 1, datacenterId: 3, workerId: 42, sequence: 0 })
    })))

  it.effect("a batch spanning milliseconds stays strictly increasing", () =>
    run(Effect.gen(function*() {
      const generator = yield* SnowflakeGenerator
      const fiber = yield* Effect.forkChild(generator.next(3000))
      for (let i = 0; i < 3; i++) {
        yield* Effect.yieldNow
        yield* TestClock.adjust(1)
      }
      const ids = (yield* Fiber.join(fiber)).map(BigInt)
      assert.strictEqual(ids.length, 3000)
      assert.isTrue(ids.every((id, i) => i === 0 || id > ids[i - 1]!))
    })))

  it.effect("clock 3 ms behind: waits until it catches up", () =>
    run(Effect.gen(function*() {
      const generator = yield* SnowflakeGenerator
      const [before] = yield* generator.next(1)
      yield* TestClock.setTime(start - 3)
      const fiber = yield* Effect.forkChild(generator.next(1))
      yield* Effect.yieldNow
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust(3)
      const [after] = yield* Fiber.join(fiber)
      assert.isTrue(BigInt(after!) > BigInt(before!))
    })))

  it.effect("clock 300 ms behind: continues on the logical clock without repeating", () =>
    run(Effect.gen(function*() {
      const generator = yield* SnowflakeGenerator
      const before = yield* generator.next(10)
      yield* TestClock.setTime(start - 300)
      const after = yield* generator.next(2000)
      const all = [...before, ...after].map(BigInt)
      assert.strictEqual(new Set(all).size, all.length)
      assert.isTrue(all.every((id, i) => i === 0 || id > all[i - 1]!))
      assert.isTrue(after.map(decode).every((p) => p.timestampMs >= start))
    })))

  it.effect("clock 5 s behind: refuses with ClockBackward", () =>
    run(Effect.gen(function*() {
      const generator = yield* SnowflakeGenerator
      yield* generator.next(1)
      yield* TestClock.setTime(start - 5000)
      const error = yield* Effect.flip(generator.next(1))
      assert.strictEqual(error._tag, "ClockBackward")
    })))
})
