/**
 * The segment distributor on real PostgreSQL: concurrent allocators (fibers on one pool and
 * separate pools, i.e. separate connections) never receive overlapping ranges, the ranges
 * cover the datacenter's range contiguously, every allocation is audited, and a datacenter's
 * range runs out with a partial last segment and then `SegmentExhausted`; a biz_tag created
 * again after its deletion goes on under a new id, above the old one's ranges.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import type { AllocatedSegment } from "@idgen/server/storage/Records"
import * as PgSegmentRepo from "@idgen/server/storage/PgSegmentRepo"
import { BizTagRepo } from "@idgen/server/storage/BizTagRepo"
import { PoolFenceRepo } from "@idgen/server/storage/PoolFenceRepo"
import { SegmentRepo } from "@idgen/server/storage/SegmentRepo"
import { TestDatabase } from "../support/TestDatabase.ts"
import { bizTag, key, RANGE_SIZE, segmentSettings, storageOnFreshDatabase } from "./fixtures.ts"

interface Allocation extends AllocatedSegment {
  readonly step: number
  readonly allocator: string
}

/** Asserts the allocations are disjoint, contiguous from `first`, and sized by their steps. */
const assertContiguous = (allocations: ReadonlyArray<Allocation>, first: number) => {
  const sorted = [...allocations].sort((a, b) => a.start - b.start)
  let next = first
  for (const a of sorted) {
    assert.strictEqual(a.start, next, `range ${a.start}..${a.end} (by ${a.allocator}) should start at ${next}`)
    assert.isTrue(a.end >= a.start)
    next = a.end + 1
  }
  return next - 1
}

const auditRows = (bizTagId: string, datacenterId: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ readonly start_id: bigint; readonly end_id: bigint; readonly step: bigint; readonly node: string }>`
      SELECT start_id, end_id, step, node FROM segment_allocations
      WHERE biz_tag_id = ${bizTagId}::uuid AND datacenter_id = ${datacenterId}
      ORDER BY start_id`
    return rows.map((r) => ({ start: Number(r.start_id), end: Number(r.end_id), step: Number(r.step), node: r.node }))
  })

const maxId = (bizTagId: string, datacenterId: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ readonly max_id: bigint }>`
      SELECT max_id FROM segments WHERE biz_tag_id = ${bizTagId}::uuid AND datacenter_id = ${datacenterId}`
    return Number(rows[0]!.max_id)
  })

/** A SegmentRepo on its own pool of `connections` connections to the test database. */
const separatePool = (connections: number, rangeSize = RANGE_SIZE) =>
  Layer.unwrap(
    Effect.map(TestDatabase, ({ url }) =>
      PgSegmentRepo.layerWith({ rangeSize }).pipe(
        Layer.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: connections }))
      ))
  )

layer(storageOnFreshDatabase({ maxConnections: 8 }), { timeout: 60_000 })("SegmentRepo on PostgreSQL", (it) => {
  it.effect("8 fibers and 2 more pools allocating concurrently never overlap", () =>
    Effect.gen(function*() {
      const id = yield* bizTag("concurrency", "g", "orders")
      const dc = 3 // values above 2^31: exercises int8 end to end
      const perAllocator = 25

      const run = (allocator: string) =>
        Effect.gen(function*() {
          const repo = yield* SegmentRepo
          const out: Array<Allocation> = []
          for (let i = 0; i < perAllocator; i++) {
            const step = 1 + ((i * 7 + allocator.length * 13) % 50)
            const segment = yield* repo.allocate({ bizTagId: id, datacenterId: dc, step, node: allocator })
            assert.strictEqual(segment.end - segment.start + 1, step)
            out.push({ ...segment, step, allocator })
          }
          return out
        })

      const mainPool = Array.from({ length: 8 }, (_, i) => run(`main-${i}`))
      const poolA = Effect.all(Array.from({ length: 4 }, (_, i) => run(`poolA-${i}`)), { concurrency: "unbounded" })
        .pipe(Effect.provide(separatePool(3)))
      const poolB = Effect.all(Array.from({ length: 4 }, (_, i) => run(`poolB-${i}`)), { concurrency: "unbounded" })
        .pipe(Effect.provide(separatePool(3)))

      const results = yield* Effect.all([Effect.all(mainPool, { concurrency: "unbounded" }), poolA, poolB], {
        concurrency: "unbounded"
      })
      const allocations = results.flat(2)
      assert.strictEqual(allocations.length, 16 * perAllocator)

      const first = dc * RANGE_SIZE + 1
      const last = assertContiguous(allocations, first)
      assert.strictEqual(yield* maxId(id, dc), last)

      // One audit row per allocation, matching it exactly.
      const audit = yield* auditRows(id, dc)
      assert.strictEqual(audit.length, allocations.length)
      const byStart = new Map(allocations.map((a) => [a.start, a]))
      for (const row of audit) {
        const a = byStart.get(row.start)
        assert.isDefined(a)
        assert.deepStrictEqual([row.end, row.step, row.node], [a!.end, a!.step, a!.allocator])
      }

      const repo = yield* SegmentRepo
      assert.strictEqual(yield* repo.remaining(id, dc), (dc + 1) * RANGE_SIZE - last)
    }))

  it.effect("the first allocation of a datacenter starts at d*R + 1; datacenters are disjoint", () =>
    Effect.gen(function*() {
      const id = yield* bizTag("disjoint", "g", "t")
      const repo = yield* SegmentRepo
      assert.strictEqual(yield* repo.remaining(id, 5), RANGE_SIZE)
      for (let dc = 0; dc <= 7; dc++) {
        const s = yield* repo.allocate({ bizTagId: id, datacenterId: dc, step: 100, node: "n" })
        assert.deepStrictEqual(s, { start: dc * RANGE_SIZE + 1, end: dc * RANGE_SIZE + 100 })
      }
      assert.strictEqual(yield* repo.remaining(id, 5), RANGE_SIZE - 100)
    }))

  it.effect("a biz_tag deleted and created again gets a new id whose counter goes on above the old one's; the old id can neither allocate nor claim a pool segment", () =>
    Effect.gen(function*() {
      const repo = yield* SegmentRepo
      const fence = yield* PoolFenceRepo
      const tags = yield* BizTagRepo
      const oldId = yield* bizTag("again", "g", "t")
      const first = yield* repo.allocate({ bizTagId: oldId, datacenterId: 0, step: 10, node: "n" })
      // A range handed to the Redis pool, one piece of it claimed.
      const pooled = yield* repo.allocate({ bizTagId: oldId, datacenterId: 0, step: 1000, node: "pool" })
      assert.isTrue((yield* fence.claim({ bizTagId: oldId, datacenterId: 0, segment: { start: pooled.start, end: pooled.start + 99 } })).claimed)

      yield* tags.remove(key("again", "g", "t"))
      const again = yield* tags.create(key("again", "g", "t"), segmentSettings)
      assert.notStrictEqual(again.id, oldId)

      const next = yield* repo.allocate({ bizTagId: again.id, datacenterId: 0, step: 10, node: "n" })
      assert.deepStrictEqual([first.end < pooled.start, next.start], [true, pooled.end + 1])
      const stale = yield* Effect.flip(repo.allocate({ bizTagId: oldId, datacenterId: 0, step: 10, node: "n" }))
      assert.strictEqual(stale._tag, "SegmentAllocateFailed")
      const piece = { start: pooled.start + 100, end: pooled.start + 199 }
      const claim = yield* Effect.flip(fence.claim({ bizTagId: oldId, datacenterId: 0, segment: piece }))
      assert.strictEqual(claim._tag, "SegmentAllocateFailed")
      // The fence came along: the new id cannot claim what the old one claimed either.
      assert.isFalse((yield* fence.claim({ bizTagId: again.id, datacenterId: 0, segment: { start: pooled.start, end: pooled.start + 99 } })).claimed)
    }))

  it.effect("rejects bad input without touching the database", () =>
    Effect.gen(function*() {
      const id = yield* bizTag("bad-input", "g", "t")
      const repo = yield* SegmentRepo
      for (const input of [
        { bizTagId: id, datacenterId: 8, step: 10, node: "n" },
        { bizTagId: id, datacenterId: -1, step: 10, node: "n" },
        { bizTagId: id, datacenterId: 0, step: 0, node: "n" },
        { bizTagId: id, datacenterId: 0, step: 1.5, node: "n" },
        { bizTagId: "not-a-uuid", datacenterId: 0, step: 10, node: "n" },
        // A well-formed id that names no biz_tag.
        { bizTagId: "00000000-0000-4000-8000-000000000000", datacenterId: 0, step: 10, node: "n" }
      ]) {
        const exit = yield* Effect.exit(repo.allocate(input))
        assert.isTrue(Exit.isFailure(exit))
        const error = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
        assert.strictEqual(error?._tag, "Fail")
        assert.strictEqual(error?._tag === "Fail" ? error.error._tag : undefined, "SegmentAllocateFailed")
      }
    }))
})

layer(storageOnFreshDatabase({ rangeSize: 100 }), { timeout: 60_000 })("SegmentRepo exhaustion (R = 100)", (it) => {
  it.effect("hands out a partial last segment, then SegmentExhausted", () =>
    Effect.gen(function*() {
      const id = yield* bizTag("small", "g", "t")
      const repo = yield* SegmentRepo
      const got: Array<AllocatedSegment> = []
      for (let i = 0; i < 4; i++) got.push(yield* repo.allocate({ bizTagId: id, datacenterId: 0, step: 30, node: "n" }))
      assert.deepStrictEqual(got, [
        { start: 1, end: 30 },
        { start: 31, end: 60 },
        { start: 61, end: 90 },
        { start: 91, end: 100 }
      ])
      assert.strictEqual(yield* repo.remaining(id, 0), 0)
      const error = yield* Effect.flip(repo.allocate({ bizTagId: id, datacenterId: 0, step: 30, node: "n" }))
      assert.strictEqual(error._tag, "SegmentExhausted")
      assert.deepStrictEqual(error.details, { biz_tag_id: id, datacenter_id: 0, max_id: "100", range_end: "100" })

      // Datacenter 1 is untouched and disjoint.
      assert.deepStrictEqual(yield* repo.allocate({ bizTagId: id, datacenterId: 1, step: 30, node: "n" }), {
        start: 101,
        end: 130
      })
      // Nothing was audited for the failed attempt.
      assert.strictEqual((yield* auditRows(id, 0)).length, 4)
    }))

  it.effect("concurrent allocators exhaust the range exactly, without overlap", () =>
    Effect.gen(function*() {
      const id = yield* bizTag("small", "g", "race")
      const repo = yield* SegmentRepo
      const drain = (allocator: string) =>
        Effect.gen(function*() {
          const out: Array<Allocation> = []
          while (true) {
            const exit = yield* Effect.exit(repo.allocate({ bizTagId: id, datacenterId: 2, step: 7, node: allocator }))
            if (Exit.isSuccess(exit)) out.push({ ...exit.value, step: 7, allocator })
            else {
              const reason = exit.cause.reasons[0]
              assert.isTrue(reason?._tag === "Fail" && reason.error._tag === "SegmentExhausted")
              return out
            }
          }
        })
      const all = (yield* Effect.all(Array.from({ length: 10 }, (_, i) => drain(`f${i}`)), { concurrency: "unbounded" }))
        .flat()
      assert.strictEqual(assertContiguous(all, 201), 300)
      assert.strictEqual(all.length, Math.ceil(100 / 7))
      assert.strictEqual((yield* auditRows(id, 2)).length, all.length)
    }))
})

describe("SegmentRepo configuration", () => {
  it.effect("rejects a range size whose datacenter 7 would exceed 2^53", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        PgSegmentRepo.make({ rangeSize: 2 ** 51 }).pipe(Effect.provideService(SqlClient.SqlClient, {} as never))
      )
      assert.isTrue(Exit.isFailure(exit))
    }))
})
