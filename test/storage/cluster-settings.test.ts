/**
 * The cluster settings pinned in the database (epoch, range size R, ID layout version), on
 * real PostgreSQL and on the embedded store: the first start pins them, a node configured
 * otherwise is refused naming the setting, the stored value and its own; epochs under which
 * snowflake IDs fall inside the segment space are refused; the operator's `pin` refuses
 * changes that could issue an ID twice; and the database itself refuses a segment row that
 * overlaps another datacenter's row of the same biz_tag.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { Snowflake } from "@idgen/core"
import { Effect, Exit, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { type ClusterSettings, ID_LAYOUT_VERSION } from "@idgen/server/storage/ClusterSettings"
import * as Store from "@idgen/server/storage/ClusterSettingsStore"
import * as Database from "@idgen/server/storage/Database"
import * as Storage from "@idgen/server/storage/index"
import * as PgSegmentRepo from "@idgen/server/storage/PgSegmentRepo"
import * as PinnedSettings from "@idgen/server/storage/PinnedSettings"
import { SegmentRepo } from "@idgen/server/storage/SegmentRepo"
import { TestDatabase } from "../support/TestDatabase.ts"
import { bizTag, storageOnFreshDatabase } from "./fixtures.ts"

const R = 2 ** 50 - 1
const own: ClusterSettings = { epochMs: Snowflake.DEFAULT_EPOCH_MS, rangeSize: R, layoutVersion: ID_LAYOUT_VERSION }
const DAY = 86_400_000

/** The failure message of `check`, asserting it is the start-up refusal (exit 78). */
const refusal = (settings: ClusterSettings) =>
  Effect.gen(function*() {
    const error = yield* Effect.flip(PinnedSettings.check(settings, "node-b"))
    assert.strictEqual(error._tag, "ConfigInvalid", error.message)
    return error.message
  })

const pinned = Effect.map(Store.read, Option.getOrThrow)

const segmentRows = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ readonly datacenter_id: number; readonly range_start: bigint; readonly range_end: bigint }>`
    SELECT datacenter_id, range_start, range_end FROM segments ORDER BY biz_tag_id, datacenter_id`
  return rows.map((r) => [r.datacenter_id, Number(r.range_start), Number(r.range_end)])
})

const freshDatabase = Layer.unwrap(Effect.map(TestDatabase, ({ url }) => Database.layerUrl(url))).pipe(
  Layer.provideMerge(TestDatabase.layer)
)

layer(freshDatabase, { timeout: 60_000, excludeTestServices: true })("pinning at start (PostgreSQL)", (it) => {
  it.effect("the first start pins its settings; another epoch, R or layout version is refused naming setting, stored and own", () =>
    Effect.gen(function*() {
      assert.isTrue(Option.isNone(yield* Store.read))
      yield* PinnedSettings.check(own, "node-a")
      const stored = yield* pinned
      assert.deepInclude(stored, { ...own, pinnedBy: "node-a" })
      yield* PinnedSettings.check(own, "node-b")

      assert.include(
        yield* refusal({ ...own, rangeSize: 10_000_000_000 }),
        `segment.range_size (IDGEN_SEGMENT_RANGE_SIZE): stored ${R}, own 10000000000`
      )
      const earlier = Date.UTC(2023, 0, 1)
      assert.include(
        yield* refusal({ ...own, epochMs: earlier }),
        "snowflake.epoch (IDGEN_EPOCH): stored 2024-01-01T00:00:00.000Z (1704067200000), own 2023-01-01T00:00:00.000Z (1672531200000)"
      )
      assert.include(yield* refusal({ ...own, layoutVersion: 2 }), "ID layout version (of this build): stored 1, own 2")
      // The refused nodes changed nothing.
      assert.deepStrictEqual(yield* pinned, stored)
    }))
})

layer(freshDatabase, { timeout: 60_000, excludeTestServices: true })("epochs too recent for R", (it) => {
  it.effect("are refused at start, saying from when snowflake IDs clear the segment space; nothing is pinned", () =>
    Effect.gen(function*() {
      const recent = Date.now() - DAY
      const message = yield* refusal({ ...own, epochMs: recent })
      const clearsAt = new Date(recent + Math.floor((8 * R) / 2 ** 21) + 1).toISOString()
      assert.include(message, `is too recent for segment.range_size ${R}`)
      assert.include(message, `stay within the segment ID space (up to ${8 * R}) until ${clearsAt}`)
      assert.include(yield* refusal({ ...own, epochMs: Date.now() + DAY, rangeSize: 1 }), "is in the future")
      assert.isTrue(Option.isNone(yield* Store.read))

      // A day after the epoch, 8R below 2^21 · 86 400 000 keeps the two apart.
      const small = { ...own, epochMs: recent, rangeSize: 1_000_000 }
      yield* PinnedSettings.check(small, "node-a")
      assert.deepInclude(yield* pinned, small)
    }))
})

layer(storageOnFreshDatabase({ rangeSize: 10_000_000_000 }), { timeout: 60_000, excludeTestServices: true })(
  "upgrading a database whose rows were created under another R",
  (it) => {
    it.effect("the first pin is refused when the new R's rows would overlap existing ones; the old R is pinned", () =>
      Effect.gen(function*() {
        const id = yield* bizTag("upgrade", "g", "orders")
        yield* (yield* SegmentRepo).allocate({ bizTagId: id, datacenterId: 1, step: 10, node: "old" })
        const message = yield* refusal(own)
        assert.include(message, "cannot pin this node's cluster settings")
        assert.include(
          message,
          `would give datacenter 0 the range [1, ${R}], which overlaps the range [10000000001, 20000000000] datacenter 1 of biz_tag ${id}`
        )
        assert.isTrue(Option.isNone(yield* Store.read))
        yield* PinnedSettings.check({ ...own, rangeSize: 10_000_000_000 }, "node-a")
        assert.strictEqual((yield* pinned).rangeSize, 10_000_000_000)
      }))
  }
)

layer(storageOnFreshDatabase({ rangeSize: 10 }), { timeout: 60_000, excludeTestServices: true })(
  "the database refuses overlapping segment rows",
  (it) => {
    it.effect("two allocators with different R on one database never issue a number twice", () =>
      Effect.gen(function*() {
        const id = yield* bizTag("overlap", "g", "orders")
        const tenWide = yield* SegmentRepo
        const oneWide = yield* PgSegmentRepo.make({ rangeSize: 1 })
        const first = yield* tenWide.allocate({ bizTagId: id, datacenterId: 0, step: 10, node: "a" })
        assert.deepStrictEqual(first, { start: 1, end: 10 })
        // Datacenter 1 under R = 1 would own [2, 2]: inside datacenter 0's [1, 10].
        const second = yield* Effect.exit(oneWide.allocate({ bizTagId: id, datacenterId: 1, step: 1, node: "b" }))
        const issued = Exit.isSuccess(second) ? [second.value] : []
        assert.isFalse(
          issued.some((s) => s.start <= first.end && s.end >= first.start),
          `overlapping ranges issued: ${JSON.stringify([first, ...issued])}`
        )
        assert.isTrue(Exit.isFailure(second))
        assert.deepStrictEqual(yield* segmentRows, [[0, 1, 10]])
      }))

    it.effect("once R is pinned, a row created under another R is refused", () =>
      Effect.gen(function*() {
        yield* PinnedSettings.pin({ ...own, rangeSize: 10 }, { actor: "test", node: "test" }, { replace: false })
        const id = yield* bizTag("overlap", "g", "pinned")
        const twentyWide = yield* PgSegmentRepo.make({ rangeSize: 20 })
        const refused = yield* Effect.exit(twentyWide.allocate({ bizTagId: id, datacenterId: 3, step: 5, node: "stale" }))
        assert.isTrue(Exit.isFailure(refused))
        const accepted = yield* (yield* SegmentRepo).allocate({ bizTagId: id, datacenterId: 3, step: 5, node: "pinned" })
        assert.deepStrictEqual(accepted, { start: 31, end: 35 })
      }))
  }
)

layer(storageOnFreshDatabase({ rangeSize: 1000 }), { timeout: 60_000, excludeTestServices: true })(
  "the operator's pin",
  (it) => {
    it.effect("refuses a later epoch and an R whose new rows would overlap; pins an earlier epoch and a larger R, audited", () =>
      Effect.gen(function*() {
        const by = { actor: "cli:test@host", node: "host" }
        yield* PinnedSettings.pin({ ...own, rangeSize: 1000 }, by, { replace: false })
        const id = yield* bizTag("pin", "g", "orders")
        yield* (yield* SegmentRepo).allocate({ bizTagId: id, datacenterId: 0, step: 900, node: "a" })

        const shrink = yield* Effect.flip(PinnedSettings.pin({ ...own, rangeSize: 500 }, by, { replace: true }))
        assert.include(shrink.message, "would give datacenter 1 the range [501, 1000], which overlaps the range [1, 1000] datacenter 0")
        const later = yield* Effect.flip(PinnedSettings.pin({ ...own, epochMs: own.epochMs + DAY, rangeSize: 1000 }, by, { replace: true }))
        assert.include(later.message, "moving snowflake.epoch forward")
        const recent = yield* Effect.flip(PinnedSettings.pin({ ...own, epochMs: Date.now() + DAY, rangeSize: 1000 }, by, { replace: true }))
        assert.include(recent.message, "is in the future")
        assert.strictEqual((yield* pinned).rangeSize, 1000)

        const next = { ...own, epochMs: Date.UTC(2023, 0, 1), rangeSize: 1_000_000 }
        assert.deepInclude(yield* PinnedSettings.pin(next, by, { replace: true }), { ...next, pinnedBy: by.actor })
        // The old row keeps its range; datacenter 1's new row gets the new R's.
        yield* (yield* PgSegmentRepo.make({ rangeSize: 1_000_000 })).allocate({ bizTagId: id, datacenterId: 1, step: 5, node: "b" })
        assert.deepStrictEqual(yield* segmentRows, [[0, 1, 1000], [1, 1_000_001, 2_000_000]])

        const sql = yield* SqlClient.SqlClient
        const audit = yield* sql<{ readonly actor: string; readonly action: string; readonly metadata: unknown }>`
          SELECT actor, action, metadata FROM audit_log WHERE action = 'pin_cluster_settings'`
        assert.deepStrictEqual(audit, [{
          actor: by.actor,
          action: "pin_cluster_settings",
          metadata: {
            from: { epoch_ms: own.epochMs, range_size: 1000, layout_version: 1 },
            to: { epoch_ms: next.epochMs, range_size: 1_000_000, layout_version: 1 }
          }
        }])
      }))
  }
)

describe("on the embedded store", () => {
  it.live("the first start pins; another R is refused; an overlapping segment row is refused", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "idgen-cluster-settings-"))),
        (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
      )
      const storage = Storage.layerWith({ url: undefined, dataDir: dir, maxConnections: 1, rangeSize: 100 })
      yield* Effect.gen(function*() {
        yield* PinnedSettings.check({ ...own, rangeSize: 100 }, "embedded-1")
        const id = yield* bizTag("embedded", "g", "orders")
        yield* (yield* SegmentRepo).allocate({ bizTagId: id, datacenterId: 0, step: 10, node: "a" })
        const stale = yield* Effect.exit(
          (yield* PgSegmentRepo.make({ rangeSize: 50 })).allocate({ bizTagId: id, datacenterId: 1, step: 10, node: "b" })
        )
        assert.isTrue(Exit.isFailure(stale))
        assert.deepStrictEqual(yield* segmentRows, [[0, 1, 100]])
      }).pipe(Effect.provide(storage))
      // A restart with another R.
      const message = yield* refusal({ ...own, rangeSize: 50 }).pipe(Effect.provide(Database.layerEmbedded(dir)))
      assert.include(message, "segment.range_size (IDGEN_SEGMENT_RANGE_SIZE): stored 100, own 50")
    }).pipe(Effect.scoped), 120_000)
})
