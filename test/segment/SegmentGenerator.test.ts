/**
 * The segment actor on real PostgreSQL: thousands of concurrent takers, a steady consumer
 * that never waits on the database, and restart safety.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { LiveConfig } from "@idgen/server/config/HotReload"
import { SegmentGenerator } from "@idgen/server/segment/SegmentGenerator"
import { SegmentSupply } from "@idgen/server/segment/SegmentSupply"
import { createTag, storage } from "./support.ts"

const Storage = storage()

/** Runs `f` with a fresh generator (a "node run"), stopping it afterwards. */
const withGenerator = <A, E, R>(f: (generator: SegmentGenerator["Service"]) => Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    return yield* f(yield* SegmentGenerator)
  }).pipe(Effect.provide(SegmentGenerator.layer.pipe(Layer.provide([SegmentSupply.layerLocal, LiveConfig.layer({})]))))

const isStrictlyIncreasing = (values: ReadonlyArray<number>) => values.every((v, i) => i === 0 || v > values[i - 1]!)

layer(Storage, { timeout: 60_000, excludeTestServices: true })("SegmentGenerator on PostgreSQL", (it) => {
  it.effect("5000 concurrent takers: no duplicate, every batch increasing", () =>
    Effect.gen(function*() {
      const tag = yield* createTag("concurrent", 100)
      const batches = yield* withGenerator(Effect.fnUntraced(function*(generator) {
        const actor = yield* generator.actorFor(tag)
        return yield* Effect.forEach(
          Array.from({ length: 5000 }, (_, i) => 1 + (i * 7919) % 20),
          (n) => actor.take(n),
          { concurrency: "unbounded" }
        )
      }))
      const all = batches.flat()
      assert.strictEqual(all.length, batches.reduce((sum, b) => sum + b.length, 0))
      assert.strictEqual(new Set(all).size, all.length)
      assert.isTrue(batches.every(isStrictlyIncreasing))
      assert.isTrue(all.every((v) => v >= 1 && v <= 10_000_000_000))
    }))

  it.effect("a steady consumer never waits on the database after the first load", () =>
    Effect.gen(function*() {
      const tag = yield* createTag("steady", 1000)
      const { stats, taken } = yield* withGenerator(Effect.fnUntraced(function*(generator) {
        const actor = yield* generator.actorFor(tag)
        const taken: Array<number> = []
        // 50 IDs per millisecond tick for 400 ticks: 20 segments of the base step.
        for (let tick = 0; tick < 400; tick++) {
          taken.push(...(yield* actor.take(50)))
          yield* Effect.sleep(1)
        }
        return { stats: actor.stats(), taken }
      }))
      assert.isTrue(isStrictlyIncreasing(taken))
      assert.strictEqual(stats.waits, 1, "only the very first take waits (for the first segment)")
      assert.isTrue(stats.loads >= 2)
    }), { timeout: 30_000 })

  it.effect("a restarted generator never reissues a number", () =>
    Effect.gen(function*() {
      const tag = yield* createTag("restart", 500)
      const takeFromNewNode = (n: number) =>
        withGenerator((generator) => Effect.flatMap(generator.actorFor(tag), (actor) => actor.take(n)))
      const firstRun = yield* takeFromNewNode(1234)
      const secondRun = yield* takeFromNewNode(10)
      assert.isTrue(secondRun[0]! > Math.max(...firstRun))
    }))
})
