/**
 * The operator API's newer endpoints (contract: Operator API) against two real server
 * processes on one database and Redis: workspace get/update (and what its defaults do to
 * auto-created biz_tags), the paged API key list with `last_used_at`, biz_tag deletion on
 * every node without ever reusing a number, the rendering of issued numbers fixed, and the
 * audit log read back newest first, filtered and paged.
 */
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { OwnRedis } from "../support/OwnRedis.ts"
import { type PairShape, pairLayer } from "../support/ServerPair.ts"
import { eventually } from "../support/Eventually.ts"
import {
  assertError,
  createBizTag,
  type Response,
  rfc3339,
  type ServerProcessShape,
  workspaceWithKey
} from "../support/ServerProcess.ts"

class Pair extends Context.Service<Pair, PairShape>()("test/http/operator-api/Pair") {}

const admin = "/api/v1/admin"

const generate = (server: ServerProcessShape, apiKey: string, workspace: string, group: string, biz_tag: string, size = 1) =>
  size === 1
    ? server.request("POST", "/api/v1/generate", { apiKey, json: { workspace, group, biz_tag } })
    : server.request("POST", "/api/v1/generate/batch", { apiKey, json: { workspace, group, biz_tag, size } })

/** The IDs of a successful generate or batch call. */
const idsOf = (response: { readonly status: number; readonly text: string; readonly json: any }): Array<string> => {
  assert.strictEqual(response.status, 200, response.text)
  return response.json.ids ?? [response.json.id]
}

/** A response once it has `status` (else undefined: not yet), for `eventually`. */
const withStatus = (status: number) => (response: Response) => (response.status === status ? response : undefined)

/** Every page of a paged list, following `next_cursor`, each page checked for its shape. */
const allPages = (server: ServerProcessShape, path: string, limit: number) =>
  Effect.gen(function*() {
    const items: Array<any> = []
    const sizes: Array<number> = []
    let cursor: string | null = null
    do {
      const separator = path.includes("?") ? "&" : "?"
      const url: string = `${path}${separator}limit=${limit}${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`
      const page = yield* server.request("GET", url, { admin: true })
      assert.strictEqual(page.status, 200, page.text)
      assert.deepStrictEqual(Object.keys(page.json).sort(), ["items", "next_cursor"])
      items.push(...page.json.items)
      sizes.push(page.json.items.length)
      cursor = page.json.next_cursor
    } while (cursor !== null)
    return { items, sizes }
  })

layer(Layer.provideMerge(pairLayer(Pair, "opapi"), OwnRedis.layer), { timeout: "180 seconds", excludeTestServices: true })(
  "HTTP operator API: workspaces, key list, biz_tag deletion, audit log",
  (it) => {
    it.effect("workspace: GET 200 with its settings; PATCH any create field but name, plus default_fallback (200); 400; 404", () =>
      Effect.gen(function*() {
        const { a } = yield* Pair
        yield* workspaceWithKey(a, { name: "ws_get" })
        const got = yield* a.request("GET", `${admin}/workspaces/ws_get`, { admin: true })
        assert.strictEqual(got.status, 200, got.text)
        assert.deepStrictEqual({ ...got.json, created_at: undefined }, {
          name: "ws_get",
          default_algorithm: "segment",
          auto_create_biz_tags: true,
          max_auto_biz_tags: 10_000,
          default_fallback: [],
          rate_limit: null,
          created_at: undefined
        })
        assert.match(got.json.created_at, rfc3339)

        const patched = yield* a.request("PATCH", `${admin}/workspaces/ws_get`, {
          admin: true,
          json: {
            default_algorithm: "snowflake",
            default_fallback: ["uuid_v7", "uuid_v4"],
            auto_create_biz_tags: false,
            max_auto_biz_tags: 5,
            rate_limit: { per_second: 50, burst: 80 }
          }
        })
        assert.strictEqual(patched.status, 200, patched.text)
        assert.deepStrictEqual({ ...patched.json, created_at: undefined }, {
          name: "ws_get",
          default_algorithm: "snowflake",
          auto_create_biz_tags: false,
          max_auto_biz_tags: 5,
          default_fallback: ["uuid_v7", "uuid_v4"],
          rate_limit: { per_second: 50, burst: 80 },
          created_at: undefined
        })
        assert.strictEqual(patched.json.created_at, got.json.created_at)
        // Only what the request names changes; null clears the rate limit.
        const cleared = yield* a.request("PATCH", `${admin}/workspaces/ws_get`, { admin: true, json: { rate_limit: null } })
        assert.strictEqual(cleared.status, 200, cleared.text)
        assert.deepStrictEqual({ ...cleared.json }, { ...patched.json, rate_limit: null })
        assert.deepStrictEqual((yield* a.request("GET", `${admin}/workspaces/ws_get`, { admin: true })).json, cleared.json)

        const invalid: ReadonlyArray<readonly [unknown, string]> = [
          [{ name: "other" }, "name"],
          [{ default_algorithm: "ulid" }, "default_algorithm"],
          [{ default_fallback: ["snowflake"] }, "default_fallback"],
          [{ default_fallback: ["formatted"] }, "default_fallback"],
          [{ default_fallback: ["uuid_v7", "uuid_v7"] }, "default_fallback"],
          [{ default_fallback: ["md5"] }, "default_fallback[0]"],
          [{ default_algorithm: "uuid_v7" }, "default_fallback"],
          [{ max_auto_biz_tags: -1 }, "max_auto_biz_tags"],
          [{ auto_create_biz_tags: "no" }, "auto_create_biz_tags"],
          [{ rate_limit: { per_second: 0, burst: 1 } }, "rate_limit.per_second"]
        ]
        for (const [json, field] of invalid) {
          const res = yield* a.request("PATCH", `${admin}/workspaces/ws_get`, { admin: true, json })
          assert.strictEqual(assertError(res, 400, "IDGEN-COMMON-0001").details.errors[0].field, field, res.text)
        }
        assertError(yield* a.request("GET", `${admin}/workspaces/nowhere`, { admin: true }), 404, "IDGEN-COMMON-0007")
        assertError(
          yield* a.request("PATCH", `${admin}/workspaces/nowhere`, { admin: true, json: { max_auto_biz_tags: 1 } }),
          404,
          "IDGEN-COMMON-0007"
        )
        assertError(yield* a.request("GET", `${admin}/workspaces/Bad!`, { admin: true }), 400, "IDGEN-COMMON-0001")
      }))

    it.effect("workspace defaults reach auto-created biz_tags: default_fallback, default_algorithm, max_auto_biz_tags", () =>
      Effect.gen(function*() {
        const { a, b } = yield* Pair
        const apiKey = yield* workspaceWithKey(a, { name: "ws_defaults" })
        const before = yield* generate(a, apiKey, "ws_defaults", "g", "before")
        assert.strictEqual(before.status, 200, before.text)
        const patched = yield* a.request("PATCH", `${admin}/workspaces/ws_defaults`, {
          admin: true,
          json: { default_algorithm: "uuid_v7", default_fallback: ["uuid_v4"], max_auto_biz_tags: 2 }
        })
        assert.strictEqual(patched.status, 200, patched.text)
        // The other node reads the workspace afresh on an auto-create.
        const after = yield* generate(b, apiKey, "ws_defaults", "g", "after")
        assert.strictEqual(after.json?.algorithm, "uuid_v7", after.text)
        const tags = (yield* a.request("GET", `${admin}/workspaces/ws_defaults/biz-tags`, { admin: true })).json
        const byName = new Map<string, any>(tags.map((t: any) => [t.name, t]))
        assert.deepStrictEqual(byName.get("before").fallback, [], "created before the patch: no fallback")
        assert.strictEqual(byName.get("after").algorithm, "uuid_v7")
        assert.deepStrictEqual(byName.get("after").fallback, ["uuid_v4"])
        // Two auto-created now: the limit set by PATCH answers the third.
        const third = assertError(yield* generate(a, apiKey, "ws_defaults", "g", "third"), 404, "IDGEN-COMMON-0007")
        assert.include(third.message, "limit of 2")
        assert.include(third.message, "/api/v1/admin/workspaces/ws_defaults/biz-tags")
      }))

    it.effect("api-keys: GET lists every key (never the key itself) with revoked_at, paged by limit/cursor; 400; 404", () =>
      Effect.gen(function*() {
        const { a } = yield* Pair
        yield* workspaceWithKey(a, { name: "ws_keys" })
        const base = `${admin}/workspaces/ws_keys/api-keys`
        const created: Array<any> = [(yield* a.request("GET", base, { admin: true })).json.items[0]]
        const secrets: Array<string> = []
        for (let i = 0; i < 6; i++) {
          const res = yield* a.request("POST", base, {
            admin: true,
            json: { name: `key-${i}`, ...(i === 0 ? { expires_at: "2099-01-01T00:00:00Z" } : {}) }
          })
          assert.strictEqual(res.status, 201, res.text)
          created.push(res.json)
          secrets.push(res.json.key)
        }
        assert.strictEqual((yield* a.request("DELETE", `${base}/${created[3].id}`, { admin: true })).status, 204)

        const whole = yield* a.request("GET", base, { admin: true })
        assert.strictEqual(whole.status, 200, whole.text)
        assert.isNull(whole.json.next_cursor)
        for (const secret of secrets) assert.notInclude(whole.text, secret.slice(-32))
        assert.notInclude(whole.text, "key_hash")
        assert.deepStrictEqual(whole.json.items.map((k: any) => k.id), created.map((k) => k.id), "oldest first")
        for (const item of whole.json.items) {
          assert.deepStrictEqual(Object.keys(item).sort(), [
            "created_at",
            "expires_at",
            "id",
            "last_used_at",
            "name",
            "prefix",
            "revoked_at"
          ])
          assert.match(item.created_at, rfc3339)
        }
        const byId = new Map<string, any>(whole.json.items.map((k: any) => [k.id, k]))
        const first = byId.get(created[1].id)
        assert.strictEqual(first.name, "key-0")
        assert.strictEqual(first.prefix, created[1].prefix)
        assert.strictEqual(Date.parse(first.expires_at), Date.parse("2099-01-01T00:00:00Z"))
        assert.isNull(first.revoked_at)
        assert.isNull(byId.get(created[2].id).expires_at)
        assert.match(byId.get(created[3].id).revoked_at, rfc3339)

        const paged = yield* allPages(a, base, 3)
        assert.deepStrictEqual(paged.sizes, [3, 3, 1])
        assert.deepStrictEqual(paged.items, whole.json.items)
        const exact = yield* allPages(a, base, 7)
        assert.deepStrictEqual(exact.sizes, [7], "a full last page says there is no more")

        for (const query of ["limit=0", "limit=1001", "limit=abc", "limit=2.5", "cursor=nonsense", "cursor=W10"]) {
          const res = yield* a.request("GET", `${base}?${query}`, { admin: true })
          assert.strictEqual(assertError(res, 400, "IDGEN-COMMON-0001").details.location, "query", res.text)
        }
        assertError(yield* a.request("GET", `${admin}/workspaces/nowhere/api-keys`, { admin: true }), 404, "IDGEN-COMMON-0007")
      }))

    it.effect("api-keys: last_used_at appears within seconds of a use on either node, then is written at most once a minute", () =>
      Effect.gen(function*() {
        const { a, b } = yield* Pair
        const apiKey = yield* workspaceWithKey(a, { name: "ws_used" })
        const list = (server: ServerProcessShape) =>
          Effect.map(server.request("GET", `${admin}/workspaces/ws_used/api-keys`, { admin: true }), (res) => res.json.items[0])
        assert.isNull((yield* list(a)).last_used_at)
        const usedFrom = Date.now()
        assert.strictEqual((yield* generate(b, apiKey, "ws_used", "g", "t")).status, 200)
        const firstUse: string = yield* eventually(
          "last_used_at written",
          5_000,
          Effect.map(list(a), (key) => key.last_used_at ?? undefined)
        )
        assert.isAtLeast(Date.parse(firstUse), usedFrom - 1_000)
        assert.isAtMost(Date.parse(firstUse), Date.now())
        // Used on and on, for three of the writer's one-second ticks: coalesced, not written again.
        const until = Date.now() + 3_000
        let uses = 0
        while (Date.now() < until) {
          assert.strictEqual((yield* generate(b, apiKey, "ws_used", "g", "t")).status, 200)
          uses++
        }
        assert.isAbove(uses, 10)
        assert.strictEqual((yield* list(a)).last_used_at, firstUse)
      }))

    it.effect("biz-tags: DELETE 204; 404 on every node, auto-create does not bring it back; re-created: 201, no number issued twice", () =>
      Effect.gen(function*() {
        const { a, b } = yield* Pair
        const apiKey = yield* workspaceWithKey(a, { name: "ws_del" })
        yield* createBizTag(a, "ws_del", { group: "g", name: "seq", algorithm: "segment", step: 10 })
        const issued = [
          ...idsOf(yield* generate(a, apiKey, "ws_del", "g", "seq", 25)),
          ...idsOf(yield* generate(b, apiKey, "ws_del", "g", "seq", 25))
        ]
        const deleted = yield* a.request("DELETE", `${admin}/workspaces/ws_del/biz-tags/g/seq`, { admin: true })
        assert.strictEqual(deleted.status, 204, deleted.text)
        assert.strictEqual(deleted.text, "")
        for (const server of [a, b]) {
          const gone = yield* eventually(
            "404 after the deletion",
            2_000,
            Effect.map(generate(server, apiKey, "ws_del", "g", "seq"), withStatus(404))
          )
          assert.include(assertError(gone, 404, "IDGEN-COMMON-0007").message, "deleted")
          // Every interface and call shape: batch too.
          assertError(yield* generate(server, apiKey, "ws_del", "g", "seq", 5), 404, "IDGEN-COMMON-0007")
        }
        const listed = (yield* a.request("GET", `${admin}/workspaces/ws_del/biz-tags`, { admin: true })).json
        assert.notInclude(listed.map((t: any) => t.name), "seq")
        assertError(yield* a.request("DELETE", `${admin}/workspaces/ws_del/biz-tags/g/seq`, { admin: true }), 404, "IDGEN-COMMON-0007")
        assertError(
          yield* a.request("PATCH", `${admin}/workspaces/ws_del/biz-tags/g/seq`, { admin: true, json: { step: 5 } }),
          404,
          "IDGEN-COMMON-0007"
        )
        assertError(yield* a.request("DELETE", `${admin}/workspaces/ws_del/biz-tags/g/never`, { admin: true }), 404, "IDGEN-COMMON-0007")
        assertError(yield* a.request("DELETE", `${admin}/workspaces/nowhere/biz-tags/g/seq`, { admin: true }), 404, "IDGEN-COMMON-0007")

        const recreated = yield* createBizTag(a, "ws_del", { group: "g", name: "seq", algorithm: "segment", step: 10 })
        assert.strictEqual(recreated.status, 201)
        const after = [
          ...idsOf(yield* eventually("served again", 2_000, Effect.map(generate(b, apiKey, "ws_del", "g", "seq", 40), withStatus(200)))),
          ...idsOf(yield* generate(a, apiKey, "ws_del", "g", "seq", 40))
        ]
        const all = [...issued, ...after]
        assert.strictEqual(new Set(all).size, all.length, "a number was issued twice")
        // Fresh ranges start above everything the deleted biz_tag had been given.
        const oldMax = issued.reduce((m, id) => (BigInt(id) > m ? BigInt(id) : m), 0n)
        assert.isTrue(after.some((id) => BigInt(id) > oldMax))
      }))

    it.effect("biz-tags: an auto-created biz_tag deleted answers 404 (deleted) on every node, others still auto-create", () =>
      Effect.gen(function*() {
        const { a, b } = yield* Pair
        const apiKey = yield* workspaceWithKey(a, { name: "ws_auto_del", auto_create_biz_tags: true })
        const issued = [
          ...idsOf(yield* generate(a, apiKey, "ws_auto_del", "g", "auto", 3)),
          ...idsOf(yield* generate(b, apiKey, "ws_auto_del", "g", "auto"))
        ]
        assert.strictEqual(new Set(issued).size, 4)
        const deleted = yield* a.request("DELETE", `${admin}/workspaces/ws_auto_del/biz-tags/g/auto`, { admin: true })
        assert.strictEqual(deleted.status, 204, deleted.text)
        for (const server of [a, b, a]) {
          const gone = yield* eventually(
            "404 after the deletion",
            2_000,
            Effect.map(generate(server, apiKey, "ws_auto_del", "g", "auto"), withStatus(404))
          )
          assert.strictEqual(assertError(gone, 404, "IDGEN-COMMON-0007").details.deleted, true)
          assertError(yield* generate(server, apiKey, "ws_auto_del", "g", "auto", 5), 404, "IDGEN-COMMON-0007")
        }
        assert.strictEqual((yield* generate(b, apiKey, "ws_auto_del", "g", "other")).status, 200)
      }))

    it.effect("biz-tags: DELETE of formatted, snowflake and uuid tags; a formatted one comes back only with its template", () =>
      Effect.gen(function*() {
        const { a, b } = yield* Pair
        const apiKey = yield* workspaceWithKey(a, { name: "ws_kinds" })
        yield* createBizTag(a, "ws_kinds", { group: "g", name: "inv", algorithm: "formatted", format_template: "INV{SEQ:4}", step: 5 })
        yield* createBizTag(a, "ws_kinds", { group: "g", name: "snow", algorithm: "snowflake" })
        yield* createBizTag(a, "ws_kinds", { group: "g", name: "v7", algorithm: "uuid_v7" })
        yield* createBizTag(a, "ws_kinds", { group: "g", name: "v4", algorithm: "uuid_v4" })
        const invoices = idsOf(yield* generate(a, apiKey, "ws_kinds", "g", "inv", 7))
        for (const name of ["inv", "snow", "v7", "v4"]) {
          assert.strictEqual((yield* generate(b, apiKey, "ws_kinds", "g", name)).status, 200)
          const res = yield* a.request("DELETE", `${admin}/workspaces/ws_kinds/biz-tags/g/${name}`, { admin: true })
          assert.strictEqual(res.status, 204, res.text)
          for (const server of [a, b]) {
            const gone = yield* eventually(
              `${name}: 404 after the deletion`,
              2_000,
              Effect.map(generate(server, apiKey, "ws_kinds", "g", name), withStatus(404))
            )
            assertError(gone, 404, "IDGEN-COMMON-0007")
          }
        }
        // Another template would render numbers it issued differently: refused.
        const other = yield* a.request("POST", `${admin}/workspaces/ws_kinds/biz-tags`, {
          admin: true,
          json: { group: "g", name: "inv", algorithm: "formatted", format_template: "INV{SEQ}" }
        })
        assert.strictEqual(assertError(other, 409, "IDGEN-COMMON-0008").details.reason, "rendering_fixed_after_issue")
        yield* createBizTag(a, "ws_kinds", { group: "g", name: "inv", algorithm: "formatted", format_template: "INV{SEQ:4}", step: 5 })
        const again = idsOf(
          yield* eventually("served again", 2_000, Effect.map(generate(b, apiKey, "ws_kinds", "g", "inv", 7), withStatus(200)))
        )
        const all = [...invoices, ...again]
        assert.strictEqual(new Set(all).size, all.length, all.join(" "))
        const snow = yield* createBizTag(a, "ws_kinds", { group: "g", name: "snow", algorithm: "snowflake" })
        assert.strictEqual(snow.json.algorithm, "snowflake")
      }))

    it.effect("formatted: once numbers are issued, a template change or formatted in/out of the chain is 409 and no string repeats", () =>
      Effect.gen(function*() {
        const { a } = yield* Pair
        const apiKey = yield* workspaceWithKey(a, { name: "ws_render" })
        const path = `${admin}/workspaces/ws_render/biz-tags/g/f`
        yield* createBizTag(a, "ws_render", { group: "g", name: "f", algorithm: "formatted", format_template: "1{SEQ}", step: 5 })
        // Before any number is issued the template may still change.
        const early = yield* a.request("PATCH", path, { admin: true, json: { format_template: "9{SEQ}" } })
        assert.strictEqual(early.status, 200, early.text)
        const back = yield* a.request("PATCH", path, { admin: true, json: { format_template: "1{SEQ}" } })
        assert.strictEqual(back.status, 200, back.text)
        const first = idsOf(yield* generate(a, apiKey, "ws_render", "g", "f", 5))
        assert.deepStrictEqual(first, ["11", "12", "13", "14", "15"])

        // Each would let "15" come again: "{SEQ}" renders 15 as "15", and so does segment.
        const changes: ReadonlyArray<Record<string, unknown>> = [
          { format_template: "{SEQ}" },
          { format_template: null, algorithm: "segment" },
          { algorithm: "uuid_v7", fallback: [] },
          { algorithm: "formatted", format_template: "{SEQ}" }
        ]
        const responses = []
        for (const json of changes) responses.push(yield* a.request("PATCH", path, { admin: true, json }))
        // Whatever was accepted, the IDs issued from here on never repeat one issued before.
        const later = idsOf(yield* generate(a, apiKey, "ws_render", "g", "f", 20))
        const all = [...first, ...later]
        assert.strictEqual(new Set(all).size, all.length, `an ID was issued twice: ${all.join(" ")}`)
        for (const res of responses) {
          const error = assertError(res, 409, "IDGEN-COMMON-0008")
          assert.include(error.message, "has issued numbers")
          assert.strictEqual(error.details.reason, "rendering_fixed_after_issue")
        }
        // Other settings stay free.
        const step = yield* a.request("PATCH", path, { admin: true, json: { step: 50, fallback: ["uuid_v7"] } })
        assert.strictEqual(step.status, 200, step.text)
        assert.strictEqual(step.json.format_template, "1{SEQ}")
      }))

    it.effect("audit: GET lists operator actions newest first, filtered by since/until/action/workspace, paged; 400 (an unknown action too)", () =>
      Effect.gen(function*() {
        const { a, b } = yield* Pair
        const start = new Date().toISOString()
        yield* workspaceWithKey(a, { name: "ws_audit" })
        yield* createBizTag(b, "ws_audit", { group: "g", name: "t", algorithm: "snowflake" })
        assert.strictEqual((yield* b.request("DELETE", `${admin}/workspaces/ws_audit/biz-tags/g/t`, { admin: true })).status, 204)
        const patched = yield* a.request("PATCH", `${admin}/workspaces/ws_audit`, { admin: true, json: { max_auto_biz_tags: 7 } })
        assert.strictEqual(patched.status, 200, patched.text)
        const base = `${admin}/audit?workspace=ws_audit&since=${encodeURIComponent(start)}`
        // The writer batches asynchronously: wait for the last action's row.
        const rows = yield* eventually(
          "the last action audited",
          10_000,
          Effect.map(a.request("GET", `${base}&limit=1000`, { admin: true }), (res) =>
            res.status === 200 && res.json.items[0]?.action === "update_workspace" ? res.json : undefined)
        )
        assert.isNull(rows.next_cursor)
        assert.deepStrictEqual(rows.items.map((e: any) => e.action), [
          "update_workspace",
          "delete_biz_tag",
          "create_biz_tag",
          "create_api_key",
          "create_workspace"
        ])
        for (const entry of rows.items) {
          assert.deepStrictEqual(Object.keys(entry).sort(), [
            "action",
            "actor",
            "details",
            "event_type",
            "id",
            "node",
            "occurred_at",
            "resource",
            "result",
            "workspace"
          ])
          assert.strictEqual(entry.workspace, "ws_audit")
          assert.strictEqual(entry.event_type, "operator")
          assert.match(entry.actor, /^admin:[0-9a-f]{8}$/)
          assert.match(entry.occurred_at, rfc3339)
        }
        const times = rows.items.map((e: any) => Date.parse(e.occurred_at))
        assert.deepStrictEqual(times, [...times].sort((x, y) => y - x), "newest first")
        const deletion = rows.items[1]
        assert.strictEqual(deletion.resource, "biz_tag:ws_audit/g/t")
        assert.strictEqual(deletion.node, "opapi-b")
        assert.deepStrictEqual(rows.items[0].details, { max_auto_biz_tags: 7 })

        const byAction = (yield* a.request("GET", `${admin}/audit?action=delete_biz_tag&workspace=ws_audit`, { admin: true })).json
        assert.deepStrictEqual(byAction.items, [deletion])
        const until = (yield* a.request("GET", `${base}&until=${encodeURIComponent(deletion.occurred_at)}`, { admin: true })).json
        assert.deepStrictEqual(until.items.map((e: any) => e.action), ["create_biz_tag", "create_api_key", "create_workspace"])
        const since = (yield* a.request("GET", `${admin}/audit?workspace=ws_audit&since=${encodeURIComponent(deletion.occurred_at)}`, {
          admin: true
        })).json
        assert.deepStrictEqual(since.items.map((e: any) => e.action), ["update_workspace", "delete_biz_tag"])
        assert.deepStrictEqual(
          (yield* a.request("GET", `${admin}/audit?workspace=nowhere`, { admin: true })).json,
          { items: [], next_cursor: null }
        )

        const paged = yield* allPages(a, base, 2)
        assert.deepStrictEqual(paged.sizes, [2, 2, 1])
        assert.deepStrictEqual(paged.items, rows.items)
        // Across every workspace too, pages neither skip nor repeat a row.
        const everything = (yield* a.request("GET", `${admin}/audit?limit=1000`, { admin: true })).json.items
        const allPaged = (yield* allPages(a, `${admin}/audit`, 3)).items
        assert.deepStrictEqual(allPaged.slice(0, everything.length).map((e: any) => e.id), everything.map((e: any) => e.id))

        const badQueries = ["limit=0", "limit=1001", "limit=x", "cursor=abc", "since=yesterday", "until=2026-13-45T99:00:00Z", "workspace=Bad!"]
        for (const query of badQueries) {
          const res = yield* a.request("GET", `${admin}/audit?${query}`, { admin: true })
          assert.strictEqual(assertError(res, 400, "IDGEN-COMMON-0001").details.location, "query", res.text)
        }
        // An action no row can have is refused, naming the known ones, rather than answering nothing.
        const unknownAction = yield* a.request("GET", `${admin}/audit?action=workspace.create`, { admin: true })
        const refusal = assertError(unknownAction, 400, "IDGEN-COMMON-0001")
        for (const action of ["create_workspace", "delete_biz_tag", "pin_cluster_settings"]) assert.include(refusal.message, action)
      }))
  }
)
