/**
 * The caches on the request path (verified API keys, biz_tags) read the database again in the
 * background before their entries expire, once per entry: a key or biz_tag in continuous use
 * is always answered from memory, and the 64 requests in flight when an entry is due cost one
 * query, not 64; requests that miss a key or a biz_tag together share one read. (On the embedded store's
 * single connection those 64 queries queued behind each other and held requests for tens to
 * hundreds of ms — issue 13 §1.) In-process on a throw-away PostgreSQL database; the
 * repositories count the reads that reach the database.
 */
import { Immediate, Names } from "@idgen/core"
import { assert, layer } from "@effect/vitest"
import { Clock, Effect, Layer, Metric } from "effect"
import { AuditLog } from "@idgen/server/audit/AuditLog"
import { ApiKeys } from "@idgen/server/auth/ApiKeys"
import * as AuthMetrics from "@idgen/server/auth/AuthMetrics"
import { SharedKeyCache } from "@idgen/server/auth/SharedKeyCache"
import { load } from "@idgen/server/config/ConfigLoader"
import { LiveConfig } from "@idgen/server/config/HotReload"
import { ServerConfig } from "@idgen/server/config/ServerConfig"
import { TagResolver } from "@idgen/server/generate/TagResolver"
import { ChangeBroadcast } from "@idgen/server/redis/ChangeBroadcast"
import * as Storage from "@idgen/server/storage/index"
import { ApiKeyRepo, BizTagRepo, WorkspaceRepo } from "@idgen/server/storage/index"
import { eventually } from "../support/Eventually.ts"
import { wait } from "../support/ServerProcess.ts"
import { TestDatabase } from "../support/TestDatabase.ts"

const TRUST_MILLIS = 2_000
/** TagResolver's cache lifetime. */
const TAG_MILLIS = 5_000
/** Requests in flight at once, as from the bench's 64 connections. */
const IN_FLIGHT = 64

/** Reads that reached the database: started, and answered. */
const reads = { keys: { started: 0, answered: 0 }, tags: { started: 0, answered: 0 }, creations: 0 }

const counted = <A, E, R>(count: { started: number; answered: number }, read: Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    count.started++
    return Effect.tap(read, () => Effect.sync(() => count.answered++))
  })

const CountedKeys = Layer.effect(
  ApiKeyRepo,
  Effect.map(ApiKeyRepo, (repo) => ApiKeyRepo.of({ ...repo, findByPrefix: (prefix) => counted(reads.keys, repo.findByPrefix(prefix)) }))
)
const CountedTags = Layer.effect(
  BizTagRepo,
  Effect.map(BizTagRepo, (repo) =>
    BizTagRepo.of({
      ...repo,
      find: (key) => counted(reads.tags, repo.find(key)),
      autoCreate: (key, settings) => Effect.andThen(Effect.sync(() => reads.creations++), repo.autoCreate(key, settings))
    }))
)

const env = (url: string) => ({ IDGEN_DATABASE_URL: url, IDGEN_ADMIN_TOKEN: "test-admin-token-0123456789" })
const base = Storage.layer.pipe(
  Layer.provideMerge(
    Layer.effect(ServerConfig, Effect.flatMap(TestDatabase, ({ url }) => load(env(url), { auth: { cache_ttl_millis: TRUST_MILLIS } })))
  ),
  Layer.provideMerge(TestDatabase.layer)
)
const Live = Layer.mergeAll(ApiKeys.layer, TagResolver.layer).pipe(
  Layer.provide(Layer.mergeAll(
    CountedKeys,
    CountedTags,
    AuditLog.layer,
    SharedKeyCache.layerLocal,
    ChangeBroadcast.layerLocal,
    Layer.unwrap(Effect.map(TestDatabase, ({ url }) => LiveConfig.layer(env(url))))
  )),
  Layer.provideMerge(base)
)

const ws = Names.WorkspaceName.make("fresh")
const tagKey: Names.SequenceKey = { workspace: ws, group: Names.GroupName.make("g"), bizTag: Names.BizTagName.make("t") }

/** The tests' workspace (auto-creating biz_tags), created by whichever test runs first. */
const workspace = Effect.flatMap(WorkspaceRepo, (repo) =>
  repo.create({ name: ws, defaultAlgorithm: "segment", autoCreateBizTags: true, rateLimit: null }).pipe(
    Effect.catchTag("Conflict", () => Effect.void),
    Effect.asVoid
  ))

layer(Live, { excludeTestServices: true, timeout: 60_000 })("database reads of the caches on the request path", (it) => {
  it.effect("64 verifications of a key no node has verified cost one lookup", () =>
    Effect.gen(function*() {
      yield* workspace
      const apiKeys = yield* ApiKeys
      const { key } = yield* apiKeys.create(ws, { name: null, expiresAt: null })
      const before = reads.keys.started
      const answers = yield* Effect.all(Array.from({ length: IN_FLIGHT }, () => apiKeys.verify(key)), { concurrency: "unbounded" })
      assert.deepStrictEqual(new Set(answers), new Set([ws]))
      assert.strictEqual(reads.keys.started - before, 1)
    }))

  it.effect("64 verifications of an unknown key at once cost one lookup and 64 counted refusals; the next one looks again", () =>
    Effect.gen(function*() {
      yield* workspace
      const apiKeys = yield* ApiKeys
      const unknown = `idgen_${ws}_${"0".repeat(32)}`
      const refusals = Metric.value(AuthMetrics.authFailures({ credential: "api_key", reason: "unknown" }))
      const before = { reads: reads.keys.started, refusals: (yield* refusals).count }
      const answers = yield* Effect.all(
        Array.from({ length: IN_FLIGHT }, () => Effect.flip(apiKeys.verify(unknown))),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(new Set(answers.map((error) => error._tag)), new Set(["Unauthorized"]))
      assert.deepStrictEqual(
        { reads: reads.keys.started - before.reads, refusals: Number((yield* refusals).count) - Number(before.refusals) },
        { reads: 1, refusals: IN_FLIGHT }
      )
      yield* Effect.flip(apiKeys.verify(unknown))
      assert.strictEqual(reads.keys.started - before.reads, 2, "a refusal is not kept for later callers")
    }))

  it.effect("64 first uses of a new biz_tag at once cost one read and one creation", () =>
    Effect.gen(function*() {
      yield* workspace
      const resolver = yield* TagResolver
      const key = { ...tagKey, bizTag: Names.BizTagName.make("new-at-once") }
      const before = { reads: reads.tags.started, creations: reads.creations }
      const answers = yield* Effect.all(Array.from({ length: IN_FLIGHT }, () => resolver.resolve(key)), { concurrency: "unbounded" })
      assert.strictEqual(new Set(answers.map((tag) => tag.id)).size, 1)
      assert.deepStrictEqual(
        { reads: reads.tags.started - before.reads, creations: reads.creations - before.creations },
        { reads: 1, creations: 1 }
      )
    }))

  it.effect("64 first uses at once of a biz_tag that exists but this node has not cached cost one read", () =>
    Effect.gen(function*() {
      yield* workspace
      const resolver = yield* TagResolver
      const key = { ...tagKey, bizTag: Names.BizTagName.make("existing") }
      const created = yield* Effect.flatMap(BizTagRepo, (repo) =>
        repo.create(key, { algorithm: "uuid_v7", fallback: [], step: 1000, formatTemplate: null }))
      const before = reads.tags.started
      const answers = yield* Effect.all(Array.from({ length: IN_FLIGHT }, () => resolver.resolve(key)), { concurrency: "unbounded" })
      assert.deepStrictEqual(new Set(answers.map((tag) => tag.id)), new Set([created.id]))
      assert.strictEqual(reads.tags.started - before, 1)
    }))

  it.effect("a key in use past half its trust is looked up once in the background and stays trusted past the first expiry", () =>
    Effect.gen(function*() {
      yield* workspace
      const apiKeys = yield* ApiKeys
      const { key } = yield* apiKeys.create(ws, { name: null, expiresAt: null })
      assert.strictEqual(yield* apiKeys.verify(key), ws)
      const t0 = yield* Clock.currentTimeMillis
      const before = { ...reads.keys }
      yield* wait(TRUST_MILLIS / 2 + 100)
      const now = yield* Clock.currentTimeMillis
      for (let i = 0; i < IN_FLIGHT; i++) assert.strictEqual(apiKeys.verifyCached(key, now), ws)
      yield* eventually("the background lookup answered", 10_000, Effect.sync(() => reads.keys.answered > before.answered))
      assert.deepStrictEqual(
        { started: reads.keys.started - before.started, answered: reads.keys.answered - before.answered },
        { started: 1, answered: 1 },
        "one lookup for the 64 uses"
      )
      assert.strictEqual(apiKeys.verifyCached(key, t0 + TRUST_MILLIS + 500), ws, "trusted past the first entry's expiry")
    }))

  it.effect("a biz_tag in use past half its lifetime is read once in the background and is answered from memory past the first expiry", () =>
    Effect.gen(function*() {
      yield* workspace
      const resolver = yield* TagResolver
      const created = yield* resolver.resolve(tagKey)
      const before = { ...reads.tags }
      yield* wait(TAG_MILLIS / 2 + 100)
      for (let i = 0; i < IN_FLIGHT; i++) {
        assert.isTrue(Immediate.isValue(resolver.resolveUnsafe(tagKey)), "answered from memory")
      }
      yield* eventually("the background read answered", 10_000, Effect.sync(() => reads.tags.answered > before.answered))
      assert.deepStrictEqual(
        { started: reads.tags.started - before.started, answered: reads.tags.answered - before.answered },
        { started: 1, answered: 1 },
        "one read for the 64 uses"
      )
      yield* wait(TAG_MILLIS / 2 + 100)
      const answer = resolver.resolveUnsafe(tagKey)
      assert.isTrue(Immediate.isValue(answer), "answered from memory past the first entry's expiry")
      assert.strictEqual((answer as typeof created).id, created.id)
    }))
})
