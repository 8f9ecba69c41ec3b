/**
 * Cluster settings pinned in the database, from outside: real server processes on one
 * PostgreSQL database (and on the embedded store) and the `idgen cluster` commands. The
 * first node pins its epoch, range size and layout version; a node configured otherwise
 * exits 78 naming the setting, the stored value and its own; an epoch too recent for R
 * exits 78 saying when snowflake IDs clear the segment space; `idgen cluster pin` is the
 * one way to change them, refusing unsafe changes; a row keeps its range, and the capacity
 * metric is measured against it.
 */
import { assert, layer } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { idgen, ok } from "../support/IdgenCli.ts"
import { createBizTag, make as startServer, type Options, type ServerProcessShape, workspaceWithKey } from "../support/ServerProcess.ts"
import { eventually } from "../support/Eventually.ts"
import * as TestDatabase from "../support/TestDatabase.ts"

const DAY = 86_400_000
const R = 2 ** 50 - 1

/** Starts a node expected to refuse: asserts exit 78 and yields its output. */
const refusedStart = (databaseUrl: string, options: Options) =>
  Effect.gen(function*() {
    const error = yield* Effect.flip(startServer(databaseUrl, options))
    assert.include(error.message, "server exited (78)", error.output)
    return error.output
  })

const batch = (server: ServerProcessShape, apiKey: string, size: number) =>
  Effect.map(
    server.request("POST", "/api/v1/generate/batch", { apiKey, json: { workspace: "pin", group: "g", biz_tag: "small", size } }),
    (res) => {
      assert.strictEqual(res.status, 200, res.text)
      return (res.json.ids as Array<string>).map(Number)
    }
  )

const gauge = (text: string, name: string) => {
  const match = new RegExp(`^${name}\\{[^}]*biz_tag="small"[^}]*\\} (\\S+)$`, "m").exec(text)
  return match === null ? undefined : Number(match[1])
}

const dataDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "idgen-cluster-cli-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

layer(Layer.empty, { timeout: "240 seconds", excludeTestServices: true })("cluster settings pinned in the database", (it) => {
  it.effect("a second node with another R, epoch or layout version exits 78 naming setting, stored and own", () =>
    Effect.gen(function*() {
      const url = yield* TestDatabase.make
      yield* startServer(url, { env: { IDGEN_SEGMENT_RANGE_SIZE: "1000" } })

      const otherRange = yield* refusedStart(url, { env: { IDGEN_SEGMENT_RANGE_SIZE: "5000" } })
      assert.include(otherRange, "segment.range_size (IDGEN_SEGMENT_RANGE_SIZE): stored 1000, own 5000")
      const otherEpoch = yield* refusedStart(url, {
        env: { IDGEN_SEGMENT_RANGE_SIZE: "1000", IDGEN_EPOCH: "2023-01-01T00:00:00Z" }
      })
      assert.include(
        otherEpoch,
        "snowflake.epoch (IDGEN_EPOCH): stored 2024-01-01T00:00:00.000Z (1704067200000), own 2023-01-01T00:00:00.000Z (1672531200000)"
      )
      // A database pinned by a build with another ID layout.
      yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql`UPDATE cluster_settings SET layout_version = 2`).pipe(
        Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1 }))
      )
      const otherLayout = yield* refusedStart(url, { env: { IDGEN_SEGMENT_RANGE_SIZE: "1000" } })
      assert.include(otherLayout, "ID layout version (of this build): stored 2, own 1")
    }))

  it.effect("a node whose epoch is too recent for R exits 78 saying when snowflake IDs clear the segment space", () =>
    Effect.gen(function*() {
      const epochMs = Math.floor((Date.now() - DAY) / 1000) * 1000
      const output = yield* refusedStart(yield* TestDatabase.make, { env: { IDGEN_EPOCH: new Date(epochMs).toISOString() } })
      const clearsAt = new Date(epochMs + Math.floor((8 * R) / 2 ** 21) + 1).toISOString()
      assert.include(output, `is too recent for segment.range_size ${R}`)
      assert.include(output, `until ${clearsAt}`)
    }))

  it.effect("idgen cluster pin changes R (refusing unsafe changes); a row keeps its range; the capacity metric uses it", () =>
    Effect.gen(function*() {
      const url = yield* TestDatabase.make
      const cli = { IDGEN_DATABASE_URL: url }
      // Steps stay at 50, so the node's allocations end right above what it handed out.
      const config = join(yield* dataDir, "idgen.toml")
      writeFileSync(config, "[segment]\ndefault_step = 50\nmax_step = 50\n")
      const small = yield* startServer(url, { env: { IDGEN_CONFIG: config, IDGEN_SEGMENT_RANGE_SIZE: "1000" } })
      const apiKey = yield* workspaceWithKey(small, { name: "pin" })
      yield* createBizTag(small, "pin", { group: "g", name: "small", algorithm: "segment" })
      const before = (yield* Effect.all(Array.from({ length: 17 }, () => batch(small, apiKey, 50)))).flat()
      yield* small.kill()

      const shown = JSON.parse(ok(yield* idgen(["cluster", "settings", "--json"], cli)))
      assert.deepInclude(shown, { epoch: "2024-01-01T00:00:00.000Z", range_size: 1000, layout_version: 1 })

      const unforced = yield* idgen(["cluster", "pin", "--range-size", "1000000"], cli)
      assert.strictEqual(unforced.code, 1, unforced.stderr)
      assert.include(unforced.stderr, "segment.range_size  1000 -> 1000000")
      assert.include(unforced.stderr, "WARNING")
      assert.include(unforced.stderr, "re-run with --force")
      const shrink = yield* idgen(["cluster", "pin", "--range-size", "500", "--force"], cli)
      assert.strictEqual(shrink.code, 1, shrink.stderr)
      assert.include(shrink.stderr, "refused: segment.range_size 500 would give datacenter 1 the range [501, 1000]")
      const later = yield* idgen(["cluster", "pin", "--epoch", "2025-01-01", "--force"], cli)
      assert.strictEqual(later.code, 1, later.stderr)
      assert.include(later.stderr, "moving snowflake.epoch forward")
      assert.strictEqual(JSON.parse(ok(yield* idgen(["cluster", "settings", "--json"], cli))).range_size, 1000)

      assert.include(
        ok(yield* idgen(["cluster", "pin", "--range-size", "1000000", "--force"], cli)),
        "restart every node with IDGEN_EPOCH=2024-01-01T00:00:00.000Z IDGEN_SEGMENT_RANGE_SIZE=1000000"
      )
      assert.strictEqual(JSON.parse(ok(yield* idgen(["cluster", "settings", "--json"], cli))).range_size, 1000000)
      assert.include(yield* refusedStart(url, { env: { IDGEN_SEGMENT_RANGE_SIZE: "1000" } }), "stored 1000000, own 1000")

      const large = yield* startServer(url, { env: { IDGEN_CONFIG: config, IDGEN_SEGMENT_RANGE_SIZE: "1000000" } })
      const after = yield* batch(large, apiKey, 20)
      // The row was created under R = 1000 and keeps [1, 1000].
      assert.isTrue(after.every((id) => id > Math.max(...before) && id <= 1000), after.join(","))
      const [remaining, ratio] = yield* eventually("the capacity gauges of biz_tag small", 10_000, Effect.gen(function*() {
        const text = (yield* large.request("GET", "/metrics")).text
        const left = gauge(text, "idgen_segment_range_remaining")
        const share = gauge(text, "idgen_segment_range_remaining_ratio")
        return left === undefined || share === undefined ? undefined : [left, share] as const
      }))
      assert.isAtMost(remaining, 1000 - Math.max(...after))
      assert.strictEqual(ratio, remaining / 1000)
      assert.isBelow(ratio, 0.2)
    }))

  it.effect("on the embedded store: a restart with another epoch exits 78; idgen cluster settings reads the pin, stderr quiet", () =>
    Effect.gen(function*() {
      const dir = yield* dataDir
      const embedded = { IDGEN_DATABASE_URL: "", IDGEN_DATA_DIR: dir }
      const node = yield* startServer("", { env: embedded })
      yield* node.kill()
      const output = yield* refusedStart("", { env: { ...embedded, IDGEN_EPOCH: "2023-01-01T00:00:00Z" } })
      assert.include(output, "snowflake.epoch (IDGEN_EPOCH): stored 2024-01-01T00:00:00.000Z (1704067200000)")
      const settings = yield* idgen(["cluster", "settings", "--json"], embedded)
      assert.deepInclude(JSON.parse(ok(settings)), { epoch_ms: 1704067200000, range_size: R, layout_version: 1 })
      assert.strictEqual(settings.stderr, "", "the store's start-up report is a node's, not the command's")
    }))
})
