/**
 * What a node polls its store for, as `App.ts` wires it (`Peers`): on PostgreSQL every node
 * asks the database each second what the other nodes changed — biz_tags always, key
 * revocations when verified keys are shared through Redis. On the embedded store, whose one
 * owner is the node itself, neither runs: its own changes reach its caches directly
 * (`test/generate/tag-changes.test.ts`, "on the embedded store"). Under the test clock: 10 s
 * pass at once, and the looks are counted where they start.
 */
import { assert, layer } from "@effect/vitest"
import { Clock, Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { Peers } from "@idgen/server/App"
import { load } from "@idgen/server/config/ConfigLoader"
import { ServerConfig } from "@idgen/server/config/ServerConfig"
import { ChangeBroadcast } from "@idgen/server/redis/ChangeBroadcast"
import * as Storage from "@idgen/server/storage/index"
import { ApiKeyRepo } from "@idgen/server/storage/index"
import { OwnRedis } from "../support/OwnRedis.ts"
import { TestDatabase } from "../support/TestDatabase.ts"

const token = { IDGEN_ADMIN_TOKEN: "test-admin-token-0123456789" }

/** The PostgreSQL store whose key repository the nodes below use (on the embedded wiring it is never asked). */
const Store = Storage.layer.pipe(
  Layer.provideMerge(Layer.effect(ServerConfig, Effect.flatMap(TestDatabase, ({ url }) => load({ ...token, IDGEN_DATABASE_URL: url })))),
  Layer.provideMerge(Layer.mergeAll(TestDatabase.layer, OwnRedis.layer))
)

/** How often, in 10 s, a node wired for `store` (with Redis or not) looks for others' changes. */
const looksIn10s = (store: "postgres" | "embedded", redis: "redis" | "no redis") =>
  Effect.gen(function*() {
    const { url } = yield* TestDatabase
    const own = yield* OwnRedis
    const repo = yield* ApiKeyRepo
    const looks = { bizTags: 0, revocations: 0 }
    const config = load({
      ...token,
      ...(store === "postgres" ? { IDGEN_DATABASE_URL: url } : {}),
      ...(redis === "redis" ? { IDGEN_REDIS_URL: own.url } : {})
    })
    const countedRepo = ApiKeyRepo.of({
      ...repo,
      revokedSince: (since) => Effect.andThen(Effect.sync(() => looks.revocations++), repo.revokedSince(since))
    })
    yield* Effect.gen(function*() {
      yield* (yield* ChangeBroadcast).watch({
        channel: "test:sole-owner",
        changedSince: () =>
          Effect.map(Clock.currentTimeMillis, (now) => {
            looks.bizTags++
            return { changed: [], checkedAt: new Date(now) }
          }),
        onChanged: () => {}
      })
      yield* TestClock.adjust("10 seconds")
    }).pipe(
      Effect.scoped,
      Effect.provide(Peers.pipe(Layer.provide(Layer.mergeAll(Layer.effect(ServerConfig, config), Layer.succeed(ApiKeyRepo, countedRepo))))),
      Effect.provide(TestClock.layer())
    )
    return looks
  })

layer(Store, { excludeTestServices: true, timeout: 60_000 })("what a node polls its store for", (it) => {
  it.effect("PostgreSQL without Redis: the biz_tag change poll, every second", () =>
    Effect.gen(function*() {
      const looks = yield* looksIn10s("postgres", "no redis")
      assert.isAtLeast(looks.bizTags, 10)
      assert.strictEqual(looks.revocations, 0)
    }))

  it.effect("PostgreSQL with Redis: the biz_tag change poll and the revocation watch", () =>
    Effect.gen(function*() {
      const looks = yield* looksIn10s("postgres", "redis")
      assert.isAtLeast(looks.bizTags, 10)
      assert.isAtLeast(looks.revocations, 1)
    }))

  it.effect("embedded store, with or without Redis: neither", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* looksIn10s("embedded", "no redis"), { bizTags: 0, revocations: 0 })
      assert.deepStrictEqual(yield* looksIn10s("embedded", "redis"), { bizTags: 0, revocations: 0 })
    }))
})
