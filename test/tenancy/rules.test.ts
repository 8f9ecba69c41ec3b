/**
 * The tenancy services on a throw-away database, as the node wires them: a new workspace's
 * defaults, the rules of workspace defaults and biz_tag settings (checked after the record
 * is found, whatever the caller), and a biz_tag change seen by this node's resolver at once,
 * without the caller invalidating anything itself.
 */
import { assert, layer } from "@effect/vitest"
import { Names } from "@idgen/core"
import { Effect, Layer } from "effect"
import { LiveConfig } from "@idgen/server/config/HotReload"
import { TagResolver } from "@idgen/server/generate/TagResolver"
import { ChangeBroadcast } from "@idgen/server/redis/ChangeBroadcast"
import { BizTags } from "@idgen/server/tenancy/BizTags"
import { Workspaces } from "@idgen/server/tenancy/Workspaces"
import { TestDatabase } from "../support/TestDatabase.ts"
import { envOf, storage } from "../segment/support.ts"

const Tenancy = Layer.unwrap(
  Effect.map(TestDatabase, ({ url }) =>
    BizTags.layer.pipe(
      Layer.provideMerge(Workspaces.layer),
      Layer.provideMerge(TagResolver.layer),
      Layer.provide(ChangeBroadcast.layerLocal),
      Layer.provideMerge(LiveConfig.layer(envOf(url)))
    ))
).pipe(Layer.provideMerge(storage()))

const workspace = Names.WorkspaceName.make("tenancy")
const key = (bizTag: string): Names.SequenceKey => ({
  workspace,
  group: Names.GroupName.make("g"),
  bizTag: Names.BizTagName.make(bizTag)
})

/** The field an InvalidRequest names. */
const fieldOf = (error: { readonly _tag: string; readonly details?: unknown }) =>
  (error.details as { readonly errors?: ReadonlyArray<{ readonly field: string }> } | undefined)?.errors?.[0]?.field

layer(Tenancy, { timeout: "60 seconds", excludeTestServices: true })("tenancy rules", (it) => {
  it.effect("a new workspace defaults to segment with auto-create on; its defaults are checked as a whole", () =>
    Effect.gen(function*() {
      const workspaces = yield* Workspaces
      const created = yield* workspaces.create({ name: workspace, rateLimit: null })
      assert.strictEqual(created.defaultAlgorithm, "segment")
      assert.strictEqual(created.autoCreateBizTags, true)

      const formatted = yield* Effect.flip(workspaces.update(workspace, { defaultFallback: ["formatted"] }))
      assert.strictEqual(formatted._tag, "InvalidRequest")
      assert.strictEqual(fieldOf(formatted), "default_fallback")
      const primary = yield* Effect.flip(workspaces.update(workspace, { defaultAlgorithm: "snowflake", defaultFallback: ["snowflake"] }))
      assert.strictEqual(fieldOf(primary), "default_fallback")
      const missing = yield* Effect.flip(workspaces.update(Names.WorkspaceName.make("nope"), { defaultFallback: ["formatted"] }))
      assert.strictEqual(missing._tag, "NotFound")
    }))

  it.effect("biz_tag settings: the configured default step, and the chain and template rules on create and update", () =>
    Effect.gen(function*() {
      const bizTags = yield* BizTags
      const live = yield* LiveConfig
      const created = yield* bizTags.create(key("orders"), { algorithm: "segment" })
      assert.strictEqual(created.step, live.current().segment.defaultStep)
      assert.deepStrictEqual(created.fallback, [])

      const repeated = yield* Effect.flip(bizTags.create(key("twice"), { algorithm: "segment", fallback: ["uuid_v7", "uuid_v7"] }))
      assert.strictEqual(fieldOf(repeated), "fallback")
      const noTemplate = yield* Effect.flip(bizTags.create(key("inv"), { algorithm: "formatted" }))
      assert.strictEqual(fieldOf(noTemplate), "format_template")
      const primary = yield* Effect.flip(bizTags.update(key("orders"), { fallback: ["segment"] }))
      assert.strictEqual(fieldOf(primary), "fallback")
      const missing = yield* Effect.flip(bizTags.update(key("nope"), { fallback: ["segment"] }))
      assert.strictEqual(missing._tag, "NotFound")
    }))

  it.effect("an update and a delete are seen by this node's resolver at once", () =>
    Effect.gen(function*() {
      const bizTags = yield* BizTags
      const resolver = yield* TagResolver
      yield* bizTags.create(key("users"), { algorithm: "segment" })
      assert.strictEqual((yield* resolver.resolve(key("users"))).algorithm, "segment")

      yield* bizTags.update(key("users"), { algorithm: "uuid_v7" })
      assert.strictEqual((yield* resolver.resolve(key("users"))).algorithm, "uuid_v7")

      yield* bizTags.remove(key("users"))
      const gone = yield* Effect.flip(resolver.resolve(key("users")))
      assert.strictEqual(gone._tag, "NotFound")
    }))
})
