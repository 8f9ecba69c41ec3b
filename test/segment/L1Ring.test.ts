/**
 * The L1 ring in front of L2 on real PostgreSQL: order and uniqueness under concurrent
 * takers of every kind, the memory budget, idle release, bounded waits answering the
 * right IDGEN code, and run-time tuning reaching running actors.
 */
import { assert, it } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Deferred, Effect, Exit, Fiber, Layer, Redacted, type Scope } from "effect"
import { SqlClient } from "effect/sql"
import { LiveConfig } from "@idgen/server/config/HotReload"
import { SegmentGenerator, SWEEP_BATCH } from "@idgen/server/segment/SegmentGenerator"
import { ADMIN_URL, TestDatabase } from "../support/TestDatabase.ts"
import { eventually } from "../support/Eventually.ts"
import { createTag, isStrictlyIncreasing, node, storage } from "./support.ts"

const nodeWith = (overrides: Record<string, unknown>) => node.pipe(Layer.provideMerge(storage({ segment: overrides })))
type Node = Layer.Success<ReturnType<typeof nodeWith>>

/** `body` on a fresh node whose `segment` settings are the defaults plus `overrides`. */
const run = <A, E>(overrides: Record<string, unknown>, body: Effect.Effect<A, E, Node | Scope.Scope>) =>
  body.pipe(Effect.provide(nodeWith(overrides)), Effect.scoped)

const everyTagHot = { l1_hot_ids_per_second: 0, l1_capacity: 256 }

it.live("concurrent takers of every kind through the ring: increasing, nothing issued twice", () =>
  run(everyTagHot, Effect.gen(function*() {
    const generator = yield* SegmentGenerator
    const tag = yield* createTag("ring-concurrent", 100)
    const actor = yield* generator.actorFor(tag)
    const batches = yield* Effect.forEach(
      Array.from({ length: 3000 }, (_, i) => i),
      (i) =>
        Effect.suspend(() => {
          const running = generator.runningActor(tag)!
          if (i % 3 === 0) {
            const v = running.takeOneNow()
            return v >= 0 ? Effect.succeed([v]) : running.take(1)
          }
          if (i % 3 === 1) {
            const out: Array<number> = []
            running.takeNow(1 + (i % 7), out)
            return Effect.succeed(out)
          }
          return running.take(1 + (i % 13))
        }).pipe(Effect.tap(() => Effect.yieldNow)),
      { concurrency: 64 }
    )
    const all = batches.flat()
    assert.isTrue(all.length > 3000)
    assert.strictEqual(new Set(all).size, all.length)
    assert.isTrue(batches.every(isStrictlyIncreasing))
    const stats = actor.stats()
    assert.isTrue(stats.l1Hits > 0, "the ring served takes")
    assert.strictEqual(actor.ring()?.capacity, 256)
  })), { timeout: 60_000 })

it.live("takes in sequence are increasing across ring, L2 fallbacks and refills", () =>
  run(everyTagHot, Effect.gen(function*() {
    const generator = yield* SegmentGenerator
    const tag = yield* createTag("ring-order", 50)
    const actor = yield* generator.actorFor(tag)
    const taken: Array<number> = []
    for (let round = 0; round < 200; round++) {
      // Drain faster than the ring refills: mixes ring hits with L2 fallbacks.
      for (let i = 0; i < 40; i++) {
        const v = actor.takeOneNow()
        if (v < 0) break
        taken.push(v)
      }
      taken.push(...(yield* actor.take(3)))
      yield* Effect.yieldNow
    }
    assert.isTrue(isStrictlyIncreasing(taken))
    const stats = actor.stats()
    assert.isTrue(stats.l1Hits > 0 && stats.l2Fallbacks > 0, JSON.stringify(stats))
  })), { timeout: 60_000 })

it.live("the memory budget bounds the rings: a tag past it takes straight from L2", () =>
  // Room for two rings of 128 slots (8 bytes each) and a remainder below the minimum ring.
  run({ ...everyTagHot, l1_capacity: 128, l1_memory_budget_bytes: 2 * 128 * 8 + 100 }, Effect.gen(function*() {
    const generator = yield* SegmentGenerator
    const actors = []
    for (const name of ["budget-a", "budget-b", "budget-c"]) {
      actors.push(yield* generator.actorFor(yield* createTag(name, 100)))
    }
    assert.deepStrictEqual(actors.map((a) => a.ring()?.capacity ?? 0), [128, 128, 0])
    assert.strictEqual(generator.ringMemoryBytes(), 2 * 128 * 8)
    const ids = yield* actors[2]!.take(500)
    assert.strictEqual(new Set(ids).size, 500)
    assert.strictEqual(actors[2]!.stats().l1Hits, 0)
  })))

it.live("an idle biz_tag is released (ring memory back) and its next use starts a fresh actor above", () =>
  run({ ...everyTagHot, idle_release_ms: 100 }, Effect.gen(function*() {
    const generator = yield* SegmentGenerator
    const tag = yield* createTag("idle", 100)
    const first = yield* generator.actorFor(tag)
    const before = yield* first.take(10)
    assert.isTrue(generator.ringMemoryBytes() > 0)
    yield* eventually("release", 10_000, Effect.sync(() => generator.runningActor(tag) === undefined), 10)
    assert.strictEqual(generator.ringMemoryBytes(), 0)
    const second = yield* generator.actorFor(tag)
    assert.notStrictEqual(second, first)
    const after = yield* second.take(10)
    assert.isTrue(after[0]! > Math.max(...before))
    // A take on the stopped actor that must wait moves to the fresh one.
    const late = yield* first.take(1000)
    assert.strictEqual(new Set([...before, ...after, ...late]).size, 1020)
  })), { timeout: 60_000 })

it.live("more idle biz_tags than one sweep batch: every one is released, the sweep resuming across ticks", () =>
  run({ l1_capacity: 0, idle_release_ms: 100 }, Effect.gen(function*() {
    const generator = yield* SegmentGenerator
    const count = SWEEP_BATCH * 2 + 10
    const tags = yield* Effect.forEach(Array.from({ length: count }, (_, i) => i), (i) => createTag(`many-idle-${i}`, 10), {
      concurrency: 8
    })
    yield* Effect.forEach(tags, (tag) => Effect.flatMap(generator.actorFor(tag), (actor) => actor.take(1)), { concurrency: 8 })
    yield* eventually(
      "all released",
      30_000,
      Effect.sync(() => tags.every((tag) => generator.runningActor(tag) === undefined)),
      25
    )
  })), { timeout: 120_000 })

it.live("a take that finds L1 and L2 empty while the load hangs answers IDGEN-SEG-1003 after the timeout", () =>
  run({ take_timeout_ms: 300, l1_capacity: 0, max_step: 1000 }, Effect.gen(function*() {
    const generator = yield* SegmentGenerator
    const sql = yield* SqlClient.SqlClient
    const tag = yield* createTag("hang", 10)
    const actor = yield* generator.actorFor(tag)
    // Past the 10 % preload threshold of the first segment.
    yield* actor.take(5)
    yield* eventually("next segment preloaded", 10_000, Effect.sync(() => actor.fill().nextLoaded), 10)
    // Another transaction holds the segment row: the next allocation blocks on its lock.
    const locked = yield* Deferred.make<void>()
    const unlock = yield* Deferred.make<void>()
    const holder = yield* sql.withTransaction(Effect.gen(function*() {
      yield* sql`SELECT max_id FROM segments WHERE biz_tag_id = ${tag.id}::uuid FOR UPDATE`
      yield* Deferred.succeed(locked, undefined)
      yield* Deferred.await(unlock)
    })).pipe(Effect.forkScoped)
    yield* Deferred.await(locked)
    actor.takeNow(actor.buffered(), [])
    const exit = yield* Effect.exit(actor.take(1))
    assert.isTrue(Exit.isFailure(exit))
    const error = Exit.findErrorOption(exit)
    assert.strictEqual(error._tag === "Some" ? error.value._tag : "none", "DatabaseUnavailable")
    assert.strictEqual(actor.stats().timeouts, 1)
    yield* Deferred.succeed(unlock, undefined)
    yield* Fiber.join(holder)
    const later = yield* actor.take(5)
    assert.strictEqual(later.length, 5)
  })), { timeout: 60_000 })

it.live("with its database gone, a take answers IDGEN-SEG-1003 instead of hanging", () =>
  run({ take_timeout_ms: 500, max_step: 1000 }, Effect.gen(function*() {
    const generator = yield* SegmentGenerator
    const { url } = yield* TestDatabase
    const tag = yield* createTag("gone", 10)
    const actor = yield* generator.actorFor(tag)
    yield* actor.take(1)
    const name = new URL(url).pathname.slice(1)
    yield* Effect.flatMap(SqlClient.SqlClient, (admin) => admin`DROP DATABASE ${admin(name)} WITH (FORCE)`).pipe(
      Effect.provide(PgClient.layer({ url: Redacted.make(ADMIN_URL), maxConnections: 1 }))
    )
    actor.takeNow(actor.buffered(), [])
    const exit = yield* Effect.exit(actor.take(1))
    const error = Exit.findErrorOption(exit)
    assert.strictEqual(error._tag === "Some" ? error.value._tag : "none", "DatabaseUnavailable")
  })), { timeout: 60_000 })

it.live("a changed preload threshold and biz_tag step reach the running actor at its next load", () =>
  run({ preload_threshold: 0.1, target_segment_seconds: 1 }, Effect.gen(function*() {
    const generator = yield* SegmentGenerator
    const live = yield* LiveConfig
    const tag = yield* createTag("tuned", 100)
    const actor = yield* generator.actorFor(tag)
    yield* actor.take(1)
    assert.strictEqual(actor.preloadThreshold(), 0.1)
    const report = yield* live.update({ segment: { preload_threshold: 0.6 } })
    assert.include(report.applied, "segment.preload_threshold")
    // The record as the resolver would hand it out after `PATCH .../biz-tags/g/tuned {"step": 5000}`.
    assert.strictEqual(generator.runningActor({ ...tag, step: 5000 }), actor)
    assert.strictEqual(actor.baseStep(), 5000)
    const loads = actor.stats().loads
    yield* actor.take(300)
    yield* eventually("another load", 10_000, Effect.sync(() => actor.stats().loads > loads), 10)
    assert.strictEqual(actor.preloadThreshold(), 0.6)
    assert.isAtLeast(actor.currentStep(), 5000)
  })), { timeout: 60_000 })
