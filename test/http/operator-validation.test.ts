/**
 * Operator input the contract refuses (400 IDGEN-COMMON-0001 naming the field), on the
 * embedded store and on PostgreSQL, against a real server process: numbers beyond what their
 * column (or the setting in force) holds, text with a NUL, fields that cannot change,
 * settings that would break auto-creation — never the 503 of a database "outage", never a
 * silent no-op, never a value echoed that is not applied. Also: create takes
 * `default_fallback`; parse checks an ID against its formatted biz_tag's template.
 */
import { status as Status } from "@grpc/grpc-js"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as GrpcClient from "../support/GrpcClient.ts"
import { assertError, createBizTag, ServerProcess, type ServerProcessShape, workspaceWithKey } from "../support/ServerProcess.ts"

const admin = "/api/v1/admin"

/** A 400 IDGEN-COMMON-0001 whose first error names `field`; returns its message. */
const refused = (server: ServerProcessShape, method: string, path: string, json: unknown, field: string) =>
  Effect.map(server.request(method, path, { admin: true, json }), (res) => {
    const error = assertError(res, 400, "IDGEN-COMMON-0001")
    assert.strictEqual(error.details.errors[0].field, field, res.text)
    // A union's internals ("Expected never | null", "string | null | null") say nothing to an operator.
    assert.notMatch(error.message, /never|\| null/, res.text)
    return error.message
  })

const stores = [
  ["the embedded store", ServerProcess.layer({ env: { IDGEN_DATABASE_URL: "" } })],
  ["PostgreSQL", ServerProcess.layer()]
] as const

for (const [store, serverLayer] of stores) {
  layer(serverLayer, { timeout: "180 seconds", excludeTestServices: true })(`operator input validation on ${store}`, (it) => {
    it.effect("numbers beyond their column and text with a NUL are 400 naming the field, with no stack trace in the log", () =>
      Effect.gen(function*() {
        const server = yield* ServerProcess
        yield* workspaceWithKey(server, { name: "w1" })
        const w1 = `${admin}/workspaces/w1`
        for (const [rate, field] of [
          [{ per_second: 1e12, burst: 1e12 }, "rate_limit.per_second"],
          [{ per_second: 2147483648, burst: 1 }, "rate_limit.per_second"],
          [{ per_second: 1, burst: 2147483648 }, "rate_limit.burst"],
          [{ per_second: 1, burst: 1, ids_per_second: 2147483648 }, "rate_limit.ids_per_second"],
          [{ per_second: 1, burst: 1, ids_per_second: 1, ids_burst: 2147483648 }, "rate_limit.ids_burst"]
        ] as const) {
          assert.include(yield* refused(server, "PATCH", w1, { rate_limit: rate }, field), "at most 2147483647")
          yield* refused(server, "POST", `${admin}/workspaces`, { name: "w2", rate_limit: rate }, field)
        }
        // The largest value the column holds is taken.
        const max = yield* server.request("PATCH", w1, { admin: true, json: { rate_limit: { per_second: 2147483647, burst: 2147483647 } } })
        assert.strictEqual(max.status, 200, max.text)
        yield* refused(server, "PATCH", w1, { max_auto_biz_tags: 1e12 }, "max_auto_biz_tags")

        assert.include(yield* refused(server, "POST", `${w1}/api-keys`, { name: "\u0000" }, "name"), "NUL")
        assert.include(
          yield* refused(server, "POST", `${w1}/biz-tags`, {
            group: "g",
            name: "nul",
            algorithm: "formatted",
            format_template: "A\u0000{SEQ}"
          }, "format_template"),
          "NUL"
        )
        yield* refused(server, "POST", `${admin}/degradation/uuid_v4/degrade`, { reason: "a\u0000" }, "reason")
        const audit = yield* server.request("GET", `${admin}/audit?action=%00`, { admin: true })
        assert.strictEqual(assertError(audit, 400, "IDGEN-COMMON-0001").details.errors[0].field, "action")

        assert.notMatch(server.output(), /database failure|^\s+at /m)
      }))

    it.effect("a step above segment.max_step is 400 saying the maximum; the largest is stored and echoed", () =>
      Effect.gen(function*() {
        const server = yield* ServerProcess
        yield* workspaceWithKey(server, { name: "steps" })
        const tags = `${admin}/workspaces/steps/biz-tags`
        for (const step of [1e15, 10_000_001]) {
          assert.include(
            yield* refused(server, "POST", tags, { group: "g", name: "big", algorithm: "segment", step }, "step"),
            "at most 10000000"
          )
        }
        yield* refused(server, "POST", tags, { group: "g", name: "big", algorithm: "segment", step: 1e300 }, "step")
        const created = yield* createBizTag(server, "steps", { group: "g", name: "big", algorithm: "segment", step: 10_000_000 })
        assert.strictEqual(created.json.step, 10_000_000)
        assert.include(yield* refused(server, "PATCH", `${tags}/g/big`, { step: 1e15 }, "step"), "at most 10000000")
        const listed = yield* server.request("GET", tags, { admin: true })
        assert.deepStrictEqual(listed.json.map((t: any) => t.step), [10_000_000])
      }))

    it.effect("fields that cannot change are 400 saying so; default_fallback is taken on create", () =>
      Effect.gen(function*() {
        const server = yield* ServerProcess
        const key = yield* workspaceWithKey(server, { name: "fb", default_fallback: ["snowflake"] })
        const got = yield* server.request("GET", `${admin}/workspaces/fb`, { admin: true })
        assert.deepStrictEqual(got.json.default_fallback, ["snowflake"])
        // The biz_tags it auto-creates get it.
        const issued = yield* server.request("POST", "/api/v1/generate", { apiKey: key, json: { workspace: "fb", group: "g", biz_tag: "auto" } })
        assert.strictEqual(issued.status, 200, issued.text)
        const listed = yield* server.request("GET", `${admin}/workspaces/fb/biz-tags`, { admin: true })
        assert.deepStrictEqual(listed.json.map((t: any) => [t.name, t.fallback]), [["auto", ["snowflake"]]])
        yield* refused(server, "POST", `${admin}/workspaces`, { name: "fb2", default_fallback: ["segment"] }, "default_fallback")

        assert.strictEqual(
          yield* refused(server, "PATCH", `${admin}/workspaces/fb`, { name: "zzz" }, "name"),
          "Invalid request body: name: a workspace's name cannot be changed"
        )
        yield* createBizTag(server, "fb", { group: "g", name: "seg", algorithm: "segment" })
        const seg = `${admin}/workspaces/fb/biz-tags/g/seg`
        assert.include(yield* refused(server, "PATCH", seg, { group: "other" }, "group"), "cannot be moved")
        assert.include(yield* refused(server, "PATCH", seg, { name: "renamed" }, "name"), "cannot be renamed")
        const unchanged = yield* server.request("GET", `${admin}/workspaces/fb/biz-tags`, { admin: true })
        assert.deepStrictEqual(unchanged.json.map((t: any) => `${t.group}/${t.name}`), ["g/auto", "g/seg"])
        const audit = yield* server.request("GET", `${admin}/audit?action=update_biz_tag`, { admin: true })
        assert.deepStrictEqual(audit.json.items, [])

        // Optional nullable fields say what they take, not "Expected string | null | null".
        assert.strictEqual(
          yield* refused(server, "POST", `${admin}/workspaces/fb/api-keys`, { name: 5 }, "name"),
          "Invalid request body: name: must be a string or null"
        )
        yield* refused(server, "POST", `${admin}/workspaces/fb/biz-tags`, {
          group: "g",
          name: "f",
          algorithm: "formatted",
          format_template: 5
        }, "format_template")
        yield* refused(server, "PATCH", `${admin}/workspaces/fb`, { rate_limit: 5 }, "rate_limit")
      }))

    it.effect("unknown fields in an operator body are 400 naming them, and nothing changes", () =>
      Effect.gen(function*() {
        const server = yield* ServerProcess
        yield* workspaceWithKey(server, { name: "strict" })
        const ws = `${admin}/workspaces/strict`
        yield* createBizTag(server, "strict", { group: "g", name: "t", algorithm: "segment" })
        const before = yield* server.request("GET", `${ws}/biz-tags`, { admin: true })
        const degradationBefore = yield* server.request("GET", `${admin}/degradation`, { admin: true })
        for (const [method, path, json, field] of [
          ["POST", `${admin}/workspaces`, { name: "wx", unknown_field: 1 }, "unknown_field"],
          ["PATCH", ws, { auto_create_biztags: false }, "auto_create_biztags"],
          ["PATCH", ws, { rate_limit: { per_second: 1, burst: 1, idsPerSecond: 5 } }, "rate_limit.idsPerSecond"],
          ["POST", `${ws}/biz-tags`, { group: "g", name: "u", algorithm: "segment", fallbak: ["snowflake"] }, "fallbak"],
          ["PATCH", `${ws}/biz-tags/g/t`, { stepp: 5 }, "stepp"],
          ["POST", `${ws}/api-keys`, { name: "k", expires: "2030-01-01T00:00:00Z" }, "expires"],
          ["POST", `${admin}/degradation/uuid_v4/degrade`, { reson: "x" }, "reson"],
          ["PATCH", `${admin}/degradation/thresholds`, { failure_treshold: 3 }, "failure_treshold"]
        ] as const) {
          assert.include(yield* refused(server, method, path, json, field), "unknown field", `${method} ${path}`)
        }
        assert.strictEqual((yield* server.request("GET", `${admin}/workspaces/wx`, { admin: true })).status, 404)
        const got = yield* server.request("GET", ws, { admin: true })
        assert.strictEqual(got.json.auto_create_biz_tags, true)
        assert.strictEqual(got.json.rate_limit, null)
        const after = yield* server.request("GET", `${ws}/biz-tags`, { admin: true })
        assert.deepStrictEqual(after.json, before.json)
        const keys = yield* server.request("GET", `${ws}/api-keys`, { admin: true })
        assert.strictEqual(keys.json.items.length, 1)
        const degradation = yield* server.request("GET", `${admin}/degradation`, { admin: true })
        assert.strictEqual(degradation.json.algorithms.uuid_v4.status, "healthy")
        assert.deepStrictEqual(degradation.json.thresholds, degradationBefore.json.thresholds)
      }))

    it.effect("default_algorithm formatted is 400 on create and PATCH (an auto-created biz_tag has no template)", () =>
      Effect.gen(function*() {
        const server = yield* ServerProcess
        assert.include(
          yield* refused(server, "POST", `${admin}/workspaces`, { name: "fmt_default", default_algorithm: "formatted" }, "default_algorithm"),
          "must not be formatted"
        )
        yield* workspaceWithKey(server, { name: "fmt_patch" })
        yield* refused(server, "PATCH", `${admin}/workspaces/fmt_patch`, { default_algorithm: "formatted" }, "default_algorithm")
        const got = yield* server.request("GET", `${admin}/workspaces/fmt_patch`, { admin: true })
        assert.strictEqual(got.json.default_algorithm, "segment")
      }))

    it.effect("parse with a formatted biz_tag: its IDs give their datacenter; what its template cannot render is 400 (HTTP and gRPC)", () =>
      Effect.gen(function*() {
        const server = yield* ServerProcess
        const apiKey = yield* workspaceWithKey(server, { name: "acme" })
        yield* createBizTag(server, "acme", { group: "g", name: "fmt", algorithm: "formatted", format_template: "WB{YYYYMMDD}{SEQ:8}" })
        const context = { workspace: "acme", group: "g", biz_tag: "fmt" }
        const issued = yield* server.request("POST", "/api/v1/generate", { apiKey, json: context })
        assert.strictEqual(issued.status, 200, issued.text)
        const id: string = issued.json.id
        assert.match(id, /^WB\d{8}\d{8}$/)

        const parsed = yield* server.request("POST", "/api/v1/parse", { apiKey, json: { id, ...context } })
        assert.strictEqual(parsed.status, 200, parsed.text)
        assert.deepStrictEqual(parsed.json, { id, algorithm: "formatted", datacenter_id: 0 })

        const grpc = yield* GrpcClient.make(server.grpcPort)
        for (const bad of ["XYZ", `${id}0`, `XB${id.slice(2)}`, `WB20261399${id.slice(10)}`]) {
          const res = yield* server.request("POST", "/api/v1/parse", { apiKey, json: { id: bad, ...context } })
          assert.include(assertError(res, 400, "IDGEN-COMMON-0001").message, "does not match its format template", bad)
          GrpcClient.assertStatus(yield* grpc.call("Parse", { id: bad, ...context }, { apiKey }), Status.INVALID_ARGUMENT, "IDGEN-COMMON-0001")
        }
        const overGrpc = GrpcClient.valueOf(yield* grpc.call("Parse", { id, ...context }, { apiKey }))
        assert.strictEqual(overGrpc.algorithm, "formatted")
        assert.strictEqual(overGrpc.datacenter_id, 0)
      }))
  })
}
