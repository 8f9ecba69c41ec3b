/**
 * Workspace, biz_tag and API-key repositories on real PostgreSQL.
 */
import { assert, layer } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Context, Deferred, Effect, Fiber, Layer, Option, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { createHash } from "node:crypto"
import { ApiKeyRepo } from "@idgen/server/storage/ApiKeyRepo"
import { BizTagRepo } from "@idgen/server/storage/BizTagRepo"
import * as SqlBizTagRepo from "@idgen/server/storage/SqlBizTagRepo"
import * as SqlWorkspaceRepo from "@idgen/server/storage/SqlWorkspaceRepo"
import { WorkspaceRepo } from "@idgen/server/storage/WorkspaceRepo"
import { eventually } from "../support/Eventually.ts"
import { wait } from "../support/ServerProcess.ts"
import { TestDatabase } from "../support/TestDatabase.ts"
import { key, segmentSettings, storageOnFreshDatabase, ws } from "./fixtures.ts"

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex")

layer(storageOnFreshDatabase(), { timeout: 60_000 })("repositories on PostgreSQL", (it) => {
  it.effect("WorkspaceRepo: create, find, list, Conflict on a duplicate", () =>
    Effect.gen(function*() {
      const repo = yield* WorkspaceRepo
      const created = yield* repo.create({
        name: ws("acme"),
        defaultAlgorithm: "snowflake",
        autoCreateBizTags: false,
        rateLimit: { perSecond: 100, burst: 200 }
      })
      assert.strictEqual(created.name, "acme")
      assert.strictEqual(created.defaultAlgorithm, "snowflake")
      assert.strictEqual(created.autoCreateBizTags, false)
      assert.deepStrictEqual(created.rateLimit, { perSecond: 100, burst: 200 })
      assert.instanceOf(created.createdAt, Date)

      const plain = yield* repo.create({ name: ws("beta"), defaultAlgorithm: "segment", autoCreateBizTags: true, rateLimit: null })
      assert.isNull(plain.rateLimit)

      const duplicate = yield* Effect.flip(
        repo.create({ name: ws("acme"), defaultAlgorithm: "segment", autoCreateBizTags: true, rateLimit: null })
      )
      assert.strictEqual(duplicate._tag, "Conflict")

      assert.deepStrictEqual(yield* repo.findByName(ws("acme")), Option.some(created))
      assert.isTrue(Option.isNone(yield* repo.findByName(ws("nope"))))
      const names = (yield* repo.list()).map((w) => w.name)
      assert.deepStrictEqual(names.filter((n) => n === "acme" || n === "beta"), ["acme", "beta"])
    }))

  it.effect("BizTagRepo: create (group on demand), find, list order, update, Conflict and NotFound", () =>
    Effect.gen(function*() {
      const workspaces = yield* WorkspaceRepo
      yield* workspaces.create({ name: ws("tags"), defaultAlgorithm: "segment", autoCreateBizTags: true, rateLimit: null })
      const repo = yield* BizTagRepo

      const orders = yield* repo.create(key("tags", "shop", "orders"), {
        algorithm: "formatted",
        fallback: ["segment", "uuid_v7"],
        step: 500,
        formatTemplate: "OD{YYYYMMDD}{SEQ:8}"
      })
      assert.deepStrictEqual(
        [orders.workspace, orders.group, orders.name, orders.algorithm, orders.fallback, orders.step, orders.formatTemplate],
        ["tags", "shop", "orders", "formatted", ["segment", "uuid_v7"], 500, "OD{YYYYMMDD}{SEQ:8}"]
      )
      yield* repo.create(key("tags", "shop", "invoices"), segmentSettings)
      yield* repo.create(key("tags", "auth", "users"), { ...segmentSettings, algorithm: "uuid_v7" })

      const duplicate = yield* Effect.flip(repo.create(key("tags", "shop", "orders"), segmentSettings))
      assert.strictEqual(duplicate._tag, "Conflict")
      const noWorkspace = yield* Effect.flip(repo.create(key("missing", "shop", "orders"), segmentSettings))
      assert.strictEqual(noWorkspace._tag, "NotFound")
      const noWorkspaceEnsure = yield* Effect.flip(repo.ensure(key("missing", "shop", "orders"), segmentSettings))
      assert.strictEqual(noWorkspaceEnsure._tag, "NotFound")

      assert.deepStrictEqual(yield* repo.find(key("tags", "shop", "orders")), Option.some(orders))
      assert.isTrue(Option.isNone(yield* repo.find(key("tags", "shop", "nope"))))

      const listed = (yield* repo.list(ws("tags"))).map((t) => `${t.group}/${t.name}`)
      assert.deepStrictEqual(listed, ["auth/users", "shop/invoices", "shop/orders"])
      assert.deepStrictEqual(yield* repo.list(ws("missing")), [])

      const updated = yield* repo.update(key("tags", "shop", "orders"), { step: 2000, fallback: [], formatTemplate: null })
      assert.deepStrictEqual([updated.step, updated.fallback, updated.formatTemplate, updated.algorithm], [
        2000,
        [],
        null,
        "formatted"
      ])
      assert.isTrue(updated.updatedAt.getTime() >= orders.updatedAt.getTime())
      const unchanged = yield* repo.update(key("tags", "shop", "orders"), {})
      assert.strictEqual(unchanged.step, 2000)
      const missing = yield* Effect.flip(repo.update(key("tags", "shop", "nope"), { step: 1 }))
      assert.strictEqual(missing._tag, "NotFound")
    }))

  it.effect("BizTagRepo.ensure: 50 concurrent callers (two pools) get the one row", () =>
    Effect.gen(function*() {
      const workspaces = yield* WorkspaceRepo
      yield* workspaces.create({ name: ws("race"), defaultAlgorithm: "segment", autoCreateBizTags: true, rateLimit: null })
      const repo = yield* BizTagRepo
      const { url } = yield* TestDatabase
      const otherPool = Layer.effect(BizTagRepo, SqlBizTagRepo.make).pipe(
        Layer.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 5 }))
      )
      const k = key("race", "new-group", "hot-tag")
      const settings = (i: number) => ({ ...segmentSettings, step: 100 + i })
      const results = yield* Effect.all(
        [
          Effect.all(Array.from({ length: 25 }, (_, i) => repo.ensure(k, settings(i))), { concurrency: "unbounded" }),
          Effect.all(
            Array.from({ length: 25 }, (_, i) => Effect.flatMap(BizTagRepo, (r) => r.ensure(k, settings(25 + i)))),
            { concurrency: "unbounded" }
          ).pipe(Effect.provide(otherPool))
        ],
        { concurrency: "unbounded" }
      )
      const all = results.flat()
      assert.strictEqual(all.length, 50)
      assert.strictEqual(new Set(all.map((t) => t.id)).size, 1)
      assert.strictEqual(new Set(all.map((t) => t.step)).size, 1)

      const sql = yield* SqlClient.SqlClient
      const [counts] = yield* sql<{ readonly tags: bigint; readonly groups: bigint }>`
        SELECT (SELECT count(*) FROM biz_tags WHERE name = 'hot-tag') AS tags,
               (SELECT count(*) FROM groups WHERE name = 'new-group') AS groups`
      assert.deepStrictEqual(counts, { tags: 1n, groups: 1n })

      // ensure on an existing tag returns it unchanged, whatever the settings.
      const again = yield* repo.ensure(k, { ...segmentSettings, algorithm: "uuid_v4", step: 1 })
      assert.deepStrictEqual(again, all[0])
    }))

  it.effect("BizTagRepo.ensure and autoCreate on a deleted biz_tag: NotFound (deleted), not a defect", () =>
    Effect.gen(function*() {
      const workspaces = yield* WorkspaceRepo
      yield* workspaces.create({ name: ws("gone"), defaultAlgorithm: "segment", autoCreateBizTags: true, rateLimit: null })
      const repo = yield* BizTagRepo
      const k = key("gone", "g", "t")
      yield* repo.ensure(k, segmentSettings)
      yield* repo.remove(k)
      for (const attempt of [repo.ensure(k, segmentSettings), Effect.asVoid(repo.autoCreate(k, segmentSettings))]) {
        const error = yield* Effect.flip(attempt)
        assert.strictEqual(error._tag, "NotFound")
        assert.strictEqual(error.details?.deleted, true)
      }
    }))

  it.effect("BizTagRepo.autoCreate: a flood of one workspace's new biz_tags waits for its lock on one pool connection, the others stay free", () =>
    Effect.gen(function*() {
      const workspaces = yield* WorkspaceRepo
      yield* workspaces.create({ name: ws("flood"), defaultAlgorithm: "segment", autoCreateBizTags: true, rateLimit: null })
      const repo = yield* BizTagRepo
      const { url } = yield* TestDatabase
      // Watched from outside the repository's pool, which the flood may fill.
      const monitor = Context.get(yield* Layer.build(PgClient.layer({ url: Redacted.make(url), maxConnections: 1 })), SqlClient.SqlClient)
      // Another node's auto-create, holding the workspace row's lock until released.
      const release = yield* Deferred.make<void>()
      const locked = yield* Deferred.make<void>()
      const holder = yield* Effect.forkChild(Effect.gen(function*() {
        const other = yield* SqlClient.SqlClient
        yield* other.withTransaction(Effect.gen(function*() {
          yield* other`SELECT id FROM workspaces WHERE name = 'flood' FOR UPDATE`
          yield* Deferred.succeed(locked, undefined)
          yield* Deferred.await(release)
        }))
      }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1 }))))
      yield* Deferred.await(locked)
      // More new biz_tags at once than the pool has connections (8).
      const creates = yield* Effect.forkChild(Effect.all(
        Array.from({ length: 12 }, (_, i) => repo.autoCreate(key("flood", "g", `t${i}`), segmentSettings)),
        { concurrency: "unbounded" }
      ))
      const waiting = Effect.map(
        monitor<{ readonly n: number }>`
          SELECT count(*)::integer AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FROM workspaces WHERE name%FOR UPDATE%'`,
        (rows) => rows[0]!.n
      )
      yield* eventually("an auto-create waiting for the workspace lock", 10_000, Effect.map(waiting, (n) => n >= 1))
      // The pool still serves everyone else meanwhile (10 s: a bound, not a measure; blocked, it waits for the release).
      const reading = yield* Effect.forkChild(repo.find(key("flood", "g", "elsewhere")))
      const read = yield* Effect.raceFirst(Fiber.await(reading), Effect.as(wait(10_000), "blocked" as const))
      const waiters = yield* waiting
      yield* Deferred.succeed(release, undefined)
      assert.notStrictEqual(read, "blocked", "every pool connection waited for the workspace lock")
      assert.strictEqual(waiters, 1, "connections of this pool waiting for the workspace lock")
      yield* Fiber.join(holder)
      const created = yield* Fiber.join(creates)
      assert.strictEqual(new Set(created.map((tag) => Option.getOrThrow(tag).id)).size, 12)
    }).pipe(Effect.scoped))

  it.effect("ApiKeyRepo: insert, find by prefix, revoke; hash only; NotFound and Conflict", () =>
    Effect.gen(function*() {
      const workspaces = yield* WorkspaceRepo
      yield* workspaces.create({ name: ws("keys"), defaultAlgorithm: "segment", autoCreateBizTags: true, rateLimit: null })
      yield* workspaces.create({ name: ws("other"), defaultAlgorithm: "segment", autoCreateBizTags: true, rateLimit: null })
      const repo = yield* ApiKeyRepo
      const secret = "idgen_keys_0123456789abcdef0123456789abcdef"
      const prefix = "idgen_keys_01234567"
      const expiresAt = new Date(Date.now() + 86_400_000)
      const inserted = yield* repo.insert({
        workspace: ws("keys"),
        name: "ci",
        prefix,
        keyHash: sha256(secret),
        expiresAt
      })
      assert.deepStrictEqual(
        [inserted.workspace, inserted.name, inserted.prefix, inserted.keyHash, inserted.enabled],
        ["keys", "ci", prefix, sha256(secret), true]
      )
      assert.strictEqual(inserted.expiresAt?.getTime(), expiresAt.getTime())

      const found = yield* repo.findByPrefix(prefix)
      assert.deepStrictEqual(found, Option.some(inserted))
      assert.isTrue(Option.isNone(yield* repo.findByPrefix("idgen_keys_ffffffff")))

      // The secret itself is stored nowhere.
      const sql = yield* SqlClient.SqlClient
      const [leak] = yield* sql<{ readonly n: bigint }>`
        SELECT count(*) AS n FROM api_keys WHERE row_to_json(api_keys)::text LIKE ${"%" + secret + "%"}`
      assert.strictEqual(leak!.n, 0n)

      const collision = yield* Effect.flip(
        repo.insert({ workspace: ws("keys"), name: null, prefix, keyHash: sha256("x"), expiresAt: null })
      )
      assert.strictEqual(collision._tag, "Conflict")
      const noWorkspace = yield* Effect.flip(
        repo.insert({ workspace: ws("missing"), name: null, prefix: "idgen_missing_00000000", keyHash: sha256("y"), expiresAt: null })
      )
      assert.strictEqual(noWorkspace._tag, "NotFound")

      // Revoking through another workspace, or an unknown / malformed id, is NotFound.
      assert.strictEqual((yield* Effect.flip(repo.revoke(ws("other"), inserted.id)))._tag, "NotFound")
      assert.strictEqual((yield* Effect.flip(repo.revoke(ws("keys"), "00000000-0000-4000-8000-000000000000")))._tag, "NotFound")
      assert.strictEqual((yield* Effect.flip(repo.revoke(ws("keys"), "not-a-uuid")))._tag, "NotFound")

      yield* repo.revoke(ws("keys"), inserted.id)
      const revoked = yield* repo.findByPrefix(prefix)
      assert.isTrue(Option.isSome(revoked) && revoked.value.enabled === false)
      const [row] = yield* sql<{ readonly revoked: boolean }>`
        SELECT revoked_at IS NOT NULL AS revoked FROM api_keys WHERE id = ${inserted.id}::uuid`
      assert.isTrue(row!.revoked)
      // Revoking again is fine.
      yield* repo.revoke(ws("keys"), inserted.id)
    }))

  it.effect("maps a lost database to DatabaseUnavailable", () =>
    Effect.gen(function*() {
      // A pool pointing at a port nothing listens on.
      const dead = Layer.effect(WorkspaceRepo, SqlWorkspaceRepo.make).pipe(
        Layer.provide(PgClient.layer({ url: Redacted.make("postgres://postgres@127.0.0.1:1/postgres"), maxConnections: 1 }))
      )
      const error = yield* Effect.flip(Effect.flatMap(WorkspaceRepo, (r) => r.list()).pipe(Effect.provide(dead)))
      assert.strictEqual(error._tag, "DatabaseUnavailable")
    }))

  it.effect("a value its column cannot hold (SQLSTATE class 22) is InvalidRequest naming the operation, not DatabaseUnavailable", () =>
    Effect.gen(function*() {
      const workspaces = yield* WorkspaceRepo
      const apiKeys = yield* ApiKeyRepo
      const bizTags = yield* BizTagRepo
      yield* workspaces.create({ name: ws("data"), defaultAlgorithm: "segment", autoCreateBizTags: true, rateLimit: null })
      const huge = { name: ws("huge"), defaultAlgorithm: "segment", autoCreateBizTags: true, rateLimit: { perSecond: 1e12, burst: 1 } } as const
      const nulKey = { workspace: ws("data"), name: "\u0000", prefix: "idgen_data_00000000", keyHash: sha256("z"), expiresAt: null }
      const nulTemplate = { ...segmentSettings, algorithm: "formatted", formatTemplate: "A\u0000{SEQ}" } as const
      const refusals: ReadonlyArray<readonly [Effect.Effect<unknown, { readonly _tag: string; readonly message: string; readonly details?: unknown }>, string, string]> = [
        [workspaces.update(ws("data"), { rateLimit: { perSecond: 2 ** 31, burst: 1 } }), "WorkspaceRepo.update", "22003"],
        [workspaces.create(huge), "WorkspaceRepo.create", "22003"],
        [apiKeys.insert(nulKey), "ApiKeyRepo.insert", "22021"],
        [bizTags.create(key("data", "g", "nul"), nulTemplate), "BizTagRepo.create", "22021"]
      ]
      for (const [attempt, operation, sqlstate] of refusals) {
        const error = yield* Effect.flip(attempt)
        assert.strictEqual(error._tag, "InvalidRequest", `${operation}: ${error.message}`)
        assert.deepStrictEqual(error.details, { location: "body", operation, sqlstate })
      }
    }))
})
