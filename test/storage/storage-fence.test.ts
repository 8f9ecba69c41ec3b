/**
 * The timeline fence of segment allocations on a real PostgreSQL database. A failover is
 * stood in for by changing the recorded incarnation (`storage_fence`), which is exactly
 * what a promoted standby looks like to the check; the lost commits by lowering a pointer.
 * Each "node" is its own `SegmentRepo` (own memory of the ends it was handed). The real
 * failover, with a killed primary and a promoted standby, is `test/outage/pg-failover.test.ts`.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import * as PgSegmentRepo from "@idgen/server/storage/PgSegmentRepo"
import { PoolFenceRepo } from "@idgen/server/storage/PoolFenceRepo"
import { bizTag, storageOnFreshDatabase } from "./fixtures.ts"

const GAP = 1000
const node = (failoverSafetyGap: number = GAP) => PgSegmentRepo.make({ rangeSize: 1_000_000, failoverSafetyGap })

/** What a promoted standby looks like: the database is not the incarnation last recorded. */
const failover = Effect.flatMap(SqlClient.SqlClient, (sql) => sql`UPDATE storage_fence SET timeline = timeline + 100`)

const setMax = (bizTagId: string, maxId: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql`UPDATE segments SET max_id = ${maxId} WHERE biz_tag_id = ${bizTagId}::uuid`)

const fenceRow = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.map(
    sql<{ readonly fences: string; readonly new_row_offset: string; readonly current: boolean }>`
      SELECT f.fences::text, f.new_row_offset::text, (f.system_identifier, f.timeline) = (i.system_identifier, i.timeline) AS current
      FROM storage_fence AS f, idgen_incarnation() AS i`,
    (rows) => rows[0]!
  ))

layer(storageOnFreshDatabase({ maxConnections: 8 }), { timeout: 60_000 })("timeline fence", (it) => {
  it.effect("a fresh database is not fenced: the first range starts at 1", () =>
    Effect.gen(function*() {
      const id = yield* bizTag("fresh", "g", "orders")
      const a = yield* node()
      assert.deepStrictEqual(yield* a.allocate({ bizTagId: id, datacenterId: 0, step: 10, node: "a" }), { start: 1, end: 10 })
      assert.deepStrictEqual(yield* fenceRow, { fences: "0", new_row_offset: "0", current: true })
    }))

  it.effect("new incarnation: known end + gap before the allocation, pool fences raised, new rows offset, audited", () =>
    Effect.gen(function*() {
      const id = yield* bizTag("fenced", "g", "orders")
      const a = yield* node()
      yield* a.allocate({ bizTagId: id, datacenterId: 0, step: 10, node: "a" })
      const handed = yield* a.allocate({ bizTagId: id, datacenterId: 0, step: 10, node: "a" })
      assert.deepStrictEqual(handed, { start: 11, end: 20 })
      const fence = yield* PoolFenceRepo
      yield* fence.claim({ bizTagId: id, datacenterId: 0, segment: { start: 1, end: 5 } })
      // The failover lost the second allocation: the pointer is back at 10.
      yield* failover
      yield* setMax(id, 10)
      const after = yield* a.allocate({ bizTagId: id, datacenterId: 0, step: 10, node: "a" })
      // GREATEST(10, 20 known) + 1000, then the allocation.
      assert.deepStrictEqual(after, { start: 1021, end: 1030 })
      assert.deepStrictEqual((yield* fenceRow).current, true)
      // A pool entry allocated before the failover is refused now.
      assert.deepStrictEqual(yield* fence.claim({ bizTagId: id, datacenterId: 0, segment: { start: 6, end: 20 } }), {
        claimed: false,
        consumedTo: 1020
      })
      // A row created after a fence starts `gap` in.
      const other = yield* bizTag("fenced", "g", "payments")
      assert.deepStrictEqual(yield* a.allocate({ bizTagId: other, datacenterId: 1, step: 5, node: "a" }), {
        start: 1_000_000 + GAP + 1,
        end: 1_000_000 + GAP + 5
      })
      const sql = yield* SqlClient.SqlClient
      const audit = yield* sql<{ readonly start_id: string; readonly end_id: string }>`
        SELECT start_id::text, end_id::text FROM segment_allocations WHERE biz_tag_id = ${id}::uuid AND node = 'fence:a'`
      assert.deepStrictEqual(audit, [{ start_id: "21", end_id: "1020" }])
    }))

  it.effect("two nodes allocating at once on a new incarnation: one fence, disjoint ranges", () =>
    Effect.gen(function*() {
      const id = yield* bizTag("racing", "g", "orders")
      const [a, b] = [yield* node(), yield* node()]
      yield* a.allocate({ bizTagId: id, datacenterId: 0, step: 10, node: "a" })
      const before = Number((yield* fenceRow).fences)
      yield* failover
      const ranges = yield* Effect.all(
        Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? a : b).allocate({ bizTagId: id, datacenterId: 0, step: 10, node: `n${i}` })),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(Number((yield* fenceRow).fences), before + 1)
      const sorted = [...ranges].sort((x, y) => x.start - y.start)
      assert.isAbove(sorted[0]!.start, 10 + GAP)
      sorted.slice(1).forEach((range, i) => assert.isAbove(range.start, sorted[i]!.end))
    }))

  it.effect("a node that did not fence pushes the ends it knows at its first allocation on the new incarnation", () =>
    Effect.gen(function*() {
      const id = yield* bizTag("pushing", "g", "orders")
      const other = yield* bizTag("pushing", "g", "other")
      // A small gap that the lost commits exceed: only b's memory covers them.
      const [a, b] = [yield* node(5), yield* node(5)]
      // Rows start `gap` in after the earlier tests' fences: relative to b's first range.
      const first = yield* b.allocate({ bizTagId: id, datacenterId: 0, step: 100, node: "b" })
      yield* a.allocate({ bizTagId: other, datacenterId: 0, step: 10, node: "a" })
      yield* failover
      yield* setMax(id, first.start - 1)
      // a fences: it knows nothing of `id`, which moves by the gap only.
      yield* a.allocate({ bizTagId: other, datacenterId: 0, step: 10, node: "a" })
      // b's first allocation on the new incarnation pushes its end first.
      assert.deepStrictEqual(yield* b.allocate({ bizTagId: id, datacenterId: 0, step: 10, node: "b" }), {
        start: first.end + 1,
        end: first.end + 10
      })
    }))
})
