import { assert, describe, it } from "@effect/vitest"
import { Errors, Snowflake } from "@idgen/core"
import { Effect, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { load } from "@idgen/server/config/ConfigLoader"
import { ServerConfig } from "@idgen/server/config/ServerConfig"
import { SnowflakeGenerator } from "@idgen/server/snowflake/SnowflakeGenerator"
import { type WorkerGrant, WorkerIdentity, workerIdOf } from "@idgen/server/snowflake/WorkerIdentity"

const epochMs = Snowflake.DEFAULT_EPOCH_MS
const start = epochMs + 1_000_000

const Generator = SnowflakeGenerator.layer.pipe(
  Layer.provideMerge(WorkerIdentity.layerUnpersisted),
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

/** A worker identity the test steers: the grant it answers, and what the generator retired with. */
const steered = (env: Record<string, string> = {}) => {
  const cell: { grant: WorkerGrant | Errors.NoAvailableWorkerId; retiredWith: number | undefined } = {
    grant: { _tag: "WorkerGrant", workerId: 7, generation: 1, afterMs: -1, ceilingMs: Infinity },
    retiredWith: undefined
  }
  const identity = Layer.succeed(
    WorkerIdentity,
    WorkerIdentity.of({
      datacenterId: 1,
      grant: () => cell.grant,
      current: workerIdOf(() => cell.grant),
      retire: (ms) => (cell.retiredWith = ms)
    })
  )
  const layer = SnowflakeGenerator.layer.pipe(
    Layer.provide(identity),
    Layer.provide(Layer.effect(ServerConfig, load(env)))
  )
  const runSteered = <A, E>(effect: Effect.Effect<A, E, SnowflakeGenerator>) =>
    Effect.gen(function*() {
      yield* TestClock.setTime(start)
      return yield* effect
    }).pipe(Effect.provide(layer))
  return { cell, run: runSteered }
}

describe("SnowflakeGenerator and its worker grant", () => {
  it.effect("a newly acquired id starts strictly above the ceiling its previous holder recorded", () => {
    const { cell, run } = steered()
    return run(Effect.gen(function*() {
      const generator = yield* SnowflakeGenerator
      const [first] = yield* generator.next(1)
      assert.strictEqual(decode(first!).workerId, 7)
      // Re-acquired as worker 9, whose previous holder issued up to start + 500 (the
      // logical tier covers the gap, 500 ms < 1000 ms).
      cell.grant = { _tag: "WorkerGrant", workerId: 9, generation: 2, afterMs: start + 500, ceilingMs: Infinity }
      const ids = yield* generator.next(10)
      assert.isTrue(ids.map(decode).every((p) => p.workerId === 9 && p.timestampMs > start + 500))
      assert.isTrue(BigInt(ids[0]!) > BigInt(first!))
    }))
  })

  it.effect("never issues past the reserved ceiling: IDGEN-SNOW-2003 until it is extended", () => {
    const { cell, run } = steered()
    return run(Effect.gen(function*() {
      const generator = yield* SnowflakeGenerator
      cell.grant = { _tag: "WorkerGrant", workerId: 7, generation: 1, afterMs: -1, ceilingMs: start + 1 }
      yield* generator.next(1024)
      yield* TestClock.adjust(5)
      const refused = yield* Effect.flip(generator.next(1))
      assert.strictEqual(refused._tag, "NoAvailableWorkerId")
      assert.strictEqual(Errors.codeOf(refused), "IDGEN-SNOW-2003")
      cell.grant = { ...cell.grant, ceilingMs: start + 10_000 }
      const [id] = yield* generator.next(1)
      assert.strictEqual(decode(id!).timestampMs, start + 5)
    }))
  })

  it.effect("without a grant: IDGEN-SNOW-2003 with the identity's reason", () => {
    const { cell, run } = steered()
    return run(Effect.gen(function*() {
      const generator = yield* SnowflakeGenerator
      cell.grant = new Errors.NoAvailableWorkerId({ message: "lease not confirmed", details: {} })
      const refused = yield* Effect.flip(generator.next(1))
      assert.strictEqual(refused.message, "lease not confirmed")
    }))
  })

  it.effect("a batch that cannot be served within the wait limit fails with IDGEN-SNOW-2002", () => {
    const { run } = steered()
    return run(Effect.gen(function*() {
      const generator = yield* SnowflakeGenerator
      // 1024 IDs per millisecond: 1,100,000 need ~1075 ms of waiting, over the 1 s limit.
      const fiber = yield* Effect.forkChild(Effect.flip(generator.next(1_100_000)))
      for (let ms = 0; ms < 1100 && fiber.pollUnsafe() === undefined; ms++) {
        yield* Effect.yieldNow
        yield* TestClock.adjust(1)
      }
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "SequenceOverflow")
      assert.strictEqual(Errors.codeOf(error), "IDGEN-SNOW-2002")
    }))
  })

  it.effect("thresholds come from config: 300 ms behind is refused with a 100 ms logical threshold", () => {
    const { run } = steered({ IDGEN_SNOWFLAKE_CLOCK_LOGICAL_THRESHOLD_MS: "100" })
    return run(Effect.gen(function*() {
      const generator = yield* SnowflakeGenerator
      yield* generator.next(1)
      yield* TestClock.setTime(start - 300)
      assert.strictEqual(generator.clockDriftMs(), 300)
      const error = yield* Effect.flip(generator.next(1))
      assert.strictEqual(error._tag, "ClockBackward")
      assert.deepStrictEqual(error.details, { drift_ms: 300, tolerated_ms: 100 })
    }))
  })

  it.effect("on shutdown it hands the highest issued timestamp to the identity", () => {
    const { cell, run } = steered()
    return Effect.gen(function*() {
      yield* run(Effect.gen(function*() {
        const generator = yield* SnowflakeGenerator
        yield* TestClock.adjust(42)
        yield* generator.next(3)
      }))
      assert.strictEqual(cell.retiredWith, start + 42)
    })
  })
})
