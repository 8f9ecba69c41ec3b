/**
 * The segment actor on real PostgreSQL: thousands of concurrent takers, a steady consumer
 * that never waits on the database, and restart safety.
 */
import { assert, layer } from "@effect/vitest"
import { Names } from "@idgen/core"
import { Effect, Layer } from "effect"
import { load } from "../../packages/server/src/config/ConfigLoader.ts"
import { ServerConfig } from "../../packages/server/src/config/ServerConfig.ts"
import { SegmentGenerator } from "../../packages/server/src/segment/SegmentGenerator.ts"
import { SegmentSupply } from "../../packages/server/src/segment/SegmentSupply.ts"
import { BizTagRepo, StorageLive, WorkspaceRepo } from "../../packages/server/src/storage/index.ts"
import { TestDatabase } from "../support/TestDatabase.ts"

const Config = Layer.effect(
  ServerConfig,
  Effect.flatMap(TestDatabase, ({ url }) =>
    load({ IDGEN_DATABASE_URL: url, IDGEN_ADMIN_TOKEN: "test-admin-token-0123456789" }))
)
const Storage = StorageLive.pipe(Layer.provideMerge(Config), Layer.provideMerge(TestDatabase.layer))

const key = (bizTag: string): Names.SequenceKey => ({
  workspace: Names.WorkspaceName.make("seg"),
  group: Names.GroupName.make("g"),
  bizTag: Names.BizTagName.make(bizTag)
})

const createTag = (bizTag: string, step: number) =>
  Effect.gen(function*() {
    const workspaces = yield* WorkspaceRepo
    yield* workspaces.create({
      name: Names.WorkspaceName.make("seg"),
      defaultAlgorithm: "segment",
      autoCreateBizTags: true,
      rateLimit: null
    }).pipe(Effect.catchTag("Conflict", () => Effect.void))
    return yield* (yield* BizTagRepo).create(key(bizTag), {
      algorithm: "segment",
      fallback: [],
      step,
      formatTemplate: null
    })
  })

/** Runs `f` with a fresh generator (a "node run"), stopping it afterwards. */
const withGenerator = <A, E, R>(f: (generator: SegmentGenerator["Service"]) => Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    return yield* f(yield* SegmentGenerator)
  }).pipe(Effect.provide(SegmentGenerator.layer.pipe(Layer.provide(SegmentSupply.direct))))

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
