/**
 * The schema migrations on a fresh PostgreSQL database: they apply, are idempotent across
 * restarts, enforce the data model's checks, index what the change polls look for, and manage the
 * audit table's monthly partitions.
 */
import { assert, describe, it } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import * as Database from "@idgen/server/storage/Database"
import * as TestDatabase from "../support/TestDatabase.ts"

const client = (url: string) => PgClient.layer({ url: Redacted.make(url), maxConnections: 2 })

const monthPartition = (offset: number) => {
  const now = new Date()
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1))
  return `segment_allocations_y${d.getUTCFullYear()}m${String(d.getUTCMonth() + 1).padStart(2, "0")}`
}

const partitions = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ readonly name: string }>`
    SELECT c.relname AS name FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'segment_allocations'::regclass ORDER BY 1`
  return rows.map((r) => r.name)
})

describe("migrations", () => {
  it.effect("apply on a fresh database and are idempotent", () =>
    Effect.gen(function*() {
      const url = yield* TestDatabase.make
      const first = yield* Database.migrate.pipe(Effect.provide(client(url)))
      assert.deepStrictEqual(first.map(([id, name]) => `${id}_${name}`), ["1_tenancy", "2_segments", "3_audit_log", "4_snowflake_workers", "5_cluster_settings", "6_storage_fence", "7_pool_fence", "8_auto_biz_tag_cap", "9_operator_api", "10_workspace_id_rate", "11_change_poll_indexes", "12_biz_tag_incarnations"])
      const second = yield* Database.migrate.pipe(Effect.provide(client(url)))
      assert.deepStrictEqual(second, [])

      // A full start of the database layer, twice (a restart), on the migrated database.
      for (let i = 0; i < 2; i++) {
        yield* Effect.scoped(Layer.build(Database.layerUrl(url)))
      }

      const tables = yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        return yield* sql<{ readonly name: string }>`
          SELECT table_name AS name FROM information_schema.tables
          WHERE table_schema = 'public' AND table_type IN ('BASE TABLE') ORDER BY 1`
      }).pipe(Effect.provide(client(url)))
      const names = tables.map((t) => t.name)
      for (const table of ["workspaces", "api_keys", "groups", "biz_tags", "segments", "segment_pool_fences", "storage_fence", "audit_log", "idgen_migrations"]) {
        assert.include(names, table)
      }
      const parts = yield* partitions.pipe(Effect.provide(client(url)))
      assert.include(parts, "segment_allocations_default")
      assert.include(parts, monthPartition(0))
      assert.include(parts, monthPartition(1))
      // The layer's start keeps PARTITION_MONTHS_AHEAD months ready.
      assert.include(parts, monthPartition(Database.PARTITION_MONTHS_AHEAD))
    }))

  it.effect("enforce the data model's checks", () =>
    Effect.gen(function*() {
      yield* Database.migrate
      const sql = yield* SqlClient.SqlClient
      const fails = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        Effect.map(Effect.exit(effect), (exit) => assert.isTrue(Exit.isFailure(exit)))

      yield* fails(sql`INSERT INTO workspaces (name) VALUES ('Bad Name')`)
      yield* fails(sql`INSERT INTO workspaces (name, default_algorithm) VALUES ('ws', 'ulid')`)
      yield* fails(sql`INSERT INTO workspaces (name, rate_limit_per_second) VALUES ('ws', 10)`)
      const [ws] = yield* sql<{ readonly id: string }>`INSERT INTO workspaces (name) VALUES ('ws') RETURNING id`
      const [group] = yield* sql<{ readonly id: string }>`
        INSERT INTO groups (workspace_id, name) VALUES (${ws!.id}::uuid, 'g') RETURNING id`
      yield* fails(sql`INSERT INTO biz_tags (group_id, name, algorithm, step) VALUES (${group!.id}::uuid, 't', 'nope', 1)`)
      yield* fails(
        sql`INSERT INTO biz_tags (group_id, name, algorithm, fallback, step)
            VALUES (${group!.id}::uuid, 't', 'segment', ARRAY['bogus'], 1)`
      )
      yield* fails(sql`INSERT INTO biz_tags (group_id, name, algorithm, step) VALUES (${group!.id}::uuid, 't', 'segment', 0)`)
      const [tag] = yield* sql<{ readonly id: string }>`
        INSERT INTO biz_tags (group_id, name, algorithm, fallback, step)
        VALUES (${group!.id}::uuid, 't', 'segment', ARRAY['snowflake'], 1000) RETURNING id`
      yield* fails(
        sql`INSERT INTO segments (biz_tag_id, datacenter_id, range_start, range_end, max_id, step)
            VALUES (${tag!.id}::uuid, 8, 1, 100, 0, 10)`
      )
      yield* fails(
        sql`INSERT INTO segments (biz_tag_id, datacenter_id, range_start, range_end, max_id, step)
            VALUES (${tag!.id}::uuid, 0, 1, 100, 101, 10)`
      )
      yield* fails(
        sql`INSERT INTO segments (biz_tag_id, datacenter_id, range_start, range_end, max_id, step)
            VALUES (${tag!.id}::uuid, 0, 1, 100, -1, 10)`
      )
      yield* sql`INSERT INTO segments (biz_tag_id, datacenter_id, range_start, range_end, max_id, step)
                 VALUES (${tag!.id}::uuid, 0, 1, 100, 0, 10)`
      yield* fails(sql`UPDATE segments SET max_id = 101`)
      yield* fails(
        sql`INSERT INTO api_keys (workspace_id, prefix, key_hash) VALUES (${ws!.id}::uuid, 'p', 'not-a-hash')`
      )
      // Cascade: deleting the workspace removes its groups, tags and segments.
      yield* sql`DELETE FROM workspaces`
      const [left] = yield* sql<{ readonly n: bigint }>`SELECT count(*) AS n FROM segments`
      assert.strictEqual(left!.n, 0n)
    }).pipe(Effect.provide(Layer.unwrap(Effect.map(TestDatabase.make, client)))))

  it.effect("the change polls' predicates (biz_tags updated, keys revoked since a moment ago) read an index, not the table", () =>
    Effect.gen(function*() {
      yield* Database.migrate
      const sql = yield* SqlClient.SqlClient
      const [ws] = yield* sql<{ readonly id: string }>`INSERT INTO workspaces (name) VALUES ('ws') RETURNING id`
      const [group] = yield* sql<{ readonly id: string }>`
        INSERT INTO groups (workspace_id, name) VALUES (${ws!.id}::uuid, 'g') RETURNING id`
      // 20,000 of each, changed or revoked a day ago: what a look one second back must not read.
      yield* sql`
        INSERT INTO biz_tags (group_id, name, algorithm, step, created_at, updated_at)
        SELECT ${group!.id}::uuid, 't' || i, 'segment', 1000, now() - interval '2 days', now() - interval '1 day'
        FROM generate_series(1, 20000) i`
      yield* sql`
        INSERT INTO api_keys (workspace_id, prefix, key_hash, enabled, revoked_at)
        SELECT ${ws!.id}::uuid, 'p' || i, md5(i::text) || md5(i::text), i % 2 = 0, CASE WHEN i % 2 = 1 THEN now() - interval '1 day' END
        FROM generate_series(1, 20000) i`
      yield* sql`ANALYZE biz_tags`
      yield* sql`ANALYZE api_keys`
      const plan = (query: string) =>
        Effect.map(sql.unsafe<{ readonly "QUERY PLAN": unknown }>(`EXPLAIN (FORMAT JSON) ${query}`), (rows) => JSON.stringify(rows[0]!["QUERY PLAN"]))
      // The predicates of `BizTagRepo.updatedSince` and `ApiKeyRepo.revokedSince`.
      const tags = yield* plan(`SELECT t.name FROM biz_tags t WHERE t.updated_at > now() - interval '6 seconds' AND t.updated_at > t.created_at`)
      const keys = yield* plan(`SELECT id FROM api_keys WHERE revoked_at > now() - interval '5 minutes'`)
      assert.include(tags, "idx_biz_tags_updated_at", tags)
      assert.notInclude(tags, "Seq Scan", tags)
      assert.include(keys, "idx_api_keys_revoked_at", keys)
      assert.notInclude(keys, "Seq Scan", keys)
    }).pipe(Effect.provide(Layer.unwrap(Effect.map(TestDatabase.make, client)))))

  it.effect("create monthly partitions on demand and move rows out of DEFAULT", () =>
    Effect.gen(function*() {
      yield* Database.migrate
      const sql = yield* SqlClient.SqlClient
      // An audit row two years ahead has no partition yet: it lands in DEFAULT.
      yield* sql`
        INSERT INTO segment_allocations (biz_tag_id, datacenter_id, start_id, end_id, step, node, allocated_at)
        VALUES (gen_random_uuid(), 0, 1, 10, 10, 'n1', date_trunc('month', now()) + interval '24 months 3 days')`
      const [before] = yield* sql<{ readonly part: string }>`
        SELECT tableoid::regclass::text AS part FROM segment_allocations`
      assert.strictEqual(before!.part, "segment_allocations_default")

      const created = yield* Database.ensureAllocationPartitions(24)
      assert.isTrue(created >= 22)
      assert.strictEqual(yield* Database.ensureAllocationPartitions(24), 0)

      const [after] = yield* sql<{ readonly part: string }>`
        SELECT tableoid::regclass::text AS part FROM segment_allocations`
      assert.strictEqual(after!.part, monthPartition(24))
      const parts = yield* partitions
      assert.include(parts, monthPartition(24))

      // Concurrent callers are serialised, not failing on "relation already exists".
      const results = yield* Effect.all(
        Array.from({ length: 4 }, () => Database.ensureAllocationPartitions(30)),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(results.reduce((a, b) => a + b, 0), 6)
    }).pipe(Effect.provide(Layer.unwrap(Effect.map(TestDatabase.make, client)))))
})
