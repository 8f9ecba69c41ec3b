/**
 * The operator API of the real server process: workspaces, biz_tags, API keys, and the
 * admin-token check.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { assertError, createBizTag, rfc3339, ServerProcess, workspaceWithKey } from "../support/ServerProcess.ts"

const keyFormat = /^idgen_([a-z0-9][a-z0-9_-]{0,63})_([0-9a-f]{32})$/
const uuidFormat = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

layer(ServerProcess.layer(), { timeout: "120 seconds", excludeTestServices: true })("HTTP operator API", (it) => {
  it.effect("401 on every operator endpoint without the right bearer token", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const endpoints: ReadonlyArray<readonly [string, string, unknown?]> = [
        ["POST", "/api/v1/admin/workspaces", { name: "x" }],
        ["GET", "/api/v1/admin/workspaces"],
        ["POST", "/api/v1/admin/workspaces/x/biz-tags", { group: "g", name: "n", algorithm: "segment" }],
        ["GET", "/api/v1/admin/workspaces/x/biz-tags"],
        ["PATCH", "/api/v1/admin/workspaces/x/biz-tags/g/n", { step: 5 }],
        ["POST", "/api/v1/admin/workspaces/x/api-keys", {}],
        ["DELETE", "/api/v1/admin/workspaces/x/api-keys/00000000-0000-4000-8000-000000000000"],
        ["GET", "/api/v1/admin/workspaces/x"],
        ["PATCH", "/api/v1/admin/workspaces/x", { default_algorithm: "uuid_v7" }],
        ["GET", "/api/v1/admin/workspaces/x/api-keys"],
        ["DELETE", "/api/v1/admin/workspaces/x/biz-tags/g/n"],
        ["GET", "/api/v1/admin/audit"]
      ]
      for (const [method, path, json] of endpoints) {
        const body = json === undefined ? {} : { json }
        assertError(yield* server.request(method, path, body), 401, "IDGEN-COMMON-0002")
        assertError(yield* server.request(method, path, { ...body, admin: "wrong-token-0123456789" }), 401, "IDGEN-COMMON-0002")
        assertError(
          yield* server.request(method, path, { ...body, headers: { authorization: `Basic ${server.adminToken}` } }),
          401,
          "IDGEN-COMMON-0002"
        )
      }
      // An API key is not an admin token
      const apiKey = yield* workspaceWithKey(server, { name: "keyholder" })
      assertError(yield* server.request("GET", "/api/v1/admin/workspaces", { admin: apiKey }), 401, "IDGEN-COMMON-0002")
    }))

  it.effect("workspaces: create (201, defaults, rate limit), list, duplicate 409, invalid 400", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const plain = yield* server.request("POST", "/api/v1/admin/workspaces", { admin: true, json: { name: "acme" } })
      assert.strictEqual(plain.status, 201, plain.text)
      assert.strictEqual(plain.headers.get("content-type"), "application/json")
      assert.isString(plain.headers.get("x-request-id"))
      assert.deepStrictEqual(
        { ...plain.json, created_at: undefined },
        {
          name: "acme",
          default_algorithm: "segment",
          auto_create_biz_tags: true,
          max_auto_biz_tags: 10_000,
          default_fallback: [],
          rate_limit: null,
          created_at: undefined
        }
      )
      assert.match(plain.json.created_at, rfc3339)

      const full = yield* server.request("POST", "/api/v1/admin/workspaces", {
        admin: true,
        json: {
          name: "beta_2-x",
          default_algorithm: "uuid_v7",
          auto_create_biz_tags: false,
          rate_limit: { per_second: 100, burst: 200 }
        }
      })
      assert.strictEqual(full.status, 201, full.text)
      assert.strictEqual(full.json.default_algorithm, "uuid_v7")
      assert.strictEqual(full.json.auto_create_biz_tags, false)
      assert.deepStrictEqual(full.json.rate_limit, { per_second: 100, burst: 200 })

      const list = yield* server.request("GET", "/api/v1/admin/workspaces", { admin: true })
      assert.strictEqual(list.status, 200, list.text)
      assert.isArray(list.json)
      const names = list.json.map((w: any) => w.name)
      assert.includeMembers(names, ["acme", "beta_2-x"])
      assert.deepStrictEqual(list.json.find((w: any) => w.name === "acme"), plain.json)

      const duplicate = yield* server.request("POST", "/api/v1/admin/workspaces", { admin: true, json: { name: "acme" } })
      assertError(duplicate, 409, "IDGEN-COMMON-0008")

      const invalid: ReadonlyArray<readonly [unknown, string]> = [
        [{ name: "Acme" }, "name"],
        [{ name: "" }, "name"],
        [{ name: "-acme" }, "name"],
        [{ name: "a".repeat(65) }, "name"],
        [{}, "name"],
        [{ name: "ok1", default_algorithm: "ulid" }, "default_algorithm"],
        [{ name: "ok2", auto_create_biz_tags: "yes" }, "auto_create_biz_tags"],
        [{ name: "ok3", rate_limit: { per_second: 0, burst: 1 } }, "rate_limit.per_second"],
        [{ name: "ok4", rate_limit: { per_second: 1 } }, "rate_limit.burst"]
      ]
      for (const [json, field] of invalid) {
        const res = yield* server.request("POST", "/api/v1/admin/workspaces", { admin: true, json })
        assert.strictEqual(assertError(res, 400, "IDGEN-COMMON-0001").details.errors[0].field, field, res.text)
      }
      assertError(
        yield* server.request("POST", "/api/v1/admin/workspaces", { admin: true, body: "{", headers: { "content-type": "application/json" } }),
        400,
        "IDGEN-COMMON-0001"
      )
    }))

  it.effect("biz-tags: every algorithm, group created on demand, list with remaining capacity, 409, 404", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      yield* workspaceWithKey(server, { name: "tags" })
      const created = yield* createBizTag(server, "tags", {
        group: "shop",
        name: "orders",
        algorithm: "segment",
        fallback: ["snowflake", "uuid_v7"],
        step: 500
      })
      assert.deepStrictEqual({ ...created.json, created_at: undefined, updated_at: undefined }, {
        workspace: "tags",
        group: "shop",
        name: "orders",
        algorithm: "segment",
        fallback: ["snowflake", "uuid_v7"],
        step: 500,
        format_template: null,
        created_at: undefined,
        updated_at: undefined
      })
      assert.match(created.json.created_at, rfc3339)
      assert.match(created.json.updated_at, rfc3339)

      yield* createBizTag(server, "tags", { group: "shop", name: "snow", algorithm: "snowflake" })
      yield* createBizTag(server, "tags", { group: "other", name: "v7", algorithm: "uuid_v7", fallback: ["uuid_v4"] })
      yield* createBizTag(server, "tags", { group: "other", name: "v4", algorithm: "uuid_v4" })
      const formatted = yield* createBizTag(server, "tags", {
        group: "docs",
        name: "invoice",
        algorithm: "formatted",
        format_template: "INV-{YYYY}-{SEQ:6}"
      })
      assert.strictEqual(formatted.json.format_template, "INV-{YYYY}-{SEQ:6}")
      assert.strictEqual(formatted.json.step, 1000, "default step")

      const list = yield* server.request("GET", "/api/v1/admin/workspaces/tags/biz-tags", { admin: true })
      assert.strictEqual(list.status, 200, list.text)
      assert.strictEqual(list.json.length, 5)
      const byName = new Map<string, any>(list.json.map((t: any) => [t.name, t]))
      assert.isNumber(byName.get("orders").remaining)
      assert.isAbove(byName.get("orders").remaining, 0)
      assert.isNumber(byName.get("invoice").remaining)
      assert.isNull(byName.get("snow").remaining)
      assert.isNull(byName.get("v4").remaining)
      assert.deepStrictEqual(byName.get("v7").fallback, ["uuid_v4"])

      // Remaining capacity shrinks once numbers are handed out
      const before = byName.get("orders").remaining as number
      const apiKey = (yield* server.request("POST", "/api/v1/admin/workspaces/tags/api-keys", { admin: true })).json.key
      const gen = yield* server.request("POST", "/api/v1/generate", {
        apiKey,
        json: { workspace: "tags", group: "shop", biz_tag: "orders" }
      })
      assert.strictEqual(gen.status, 200, gen.text)
      const after = (yield* server.request("GET", "/api/v1/admin/workspaces/tags/biz-tags", { admin: true })).json
        .find((t: any) => t.name === "orders").remaining
      assert.isBelow(after, before)

      assertError(
        yield* server.request("POST", "/api/v1/admin/workspaces/tags/biz-tags", {
          admin: true,
          json: { group: "shop", name: "orders", algorithm: "uuid_v4" }
        }),
        409,
        "IDGEN-COMMON-0008"
      )
      assertError(
        yield* server.request("POST", "/api/v1/admin/workspaces/nowhere/biz-tags", {
          admin: true,
          json: { group: "g", name: "n", algorithm: "segment" }
        }),
        404,
        "IDGEN-COMMON-0007"
      )
      assertError(yield* server.request("GET", "/api/v1/admin/workspaces/nowhere/biz-tags", { admin: true }), 404, "IDGEN-COMMON-0007")
      assertError(yield* server.request("GET", "/api/v1/admin/workspaces/Bad!/biz-tags", { admin: true }), 400, "IDGEN-COMMON-0001")
    }))

  it.effect("biz-tags: invalid settings are 400 naming the field", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      yield* workspaceWithKey(server, { name: "rules" })
      const invalid: ReadonlyArray<readonly [Record<string, unknown>, string]> = [
        [{ group: "g", name: "a", algorithm: "formatted" }, "format_template"],
        [{ group: "g", name: "a", algorithm: "formatted", format_template: "NO-SEQ-{YYYY}" }, "format_template"],
        [{ group: "g", name: "a", algorithm: "formatted", format_template: "{SEQ:99}" }, "format_template"],
        [{ group: "g", name: "a", algorithm: "segment", fallback: ["segment"] }, "fallback"],
        [{ group: "g", name: "a", algorithm: "segment", fallback: ["uuid_v4", "uuid_v4"] }, "fallback"],
        [{ group: "g", name: "a", algorithm: "segment", fallback: ["formatted"] }, "format_template"],
        [{ group: "g", name: "a", algorithm: "segment", fallback: ["ulid"] }, "fallback[0]"],
        [{ group: "g", name: "a", algorithm: "segment", step: 0 }, "step"],
        [{ group: "g", name: "a", algorithm: "segment", step: 1.5 }, "step"],
        [{ group: "g", name: "a", algorithm: "segment", step: "10" }, "step"],
        [{ group: "g", name: "a", algorithm: "md5" }, "algorithm"],
        [{ group: "g", name: "a" }, "algorithm"],
        [{ group: "G", name: "a", algorithm: "segment" }, "group"],
        [{ group: "g", name: "a b", algorithm: "segment" }, "name"]
      ]
      for (const [json, field] of invalid) {
        const res = yield* server.request("POST", "/api/v1/admin/workspaces/rules/biz-tags", { admin: true, json })
        const error = assertError(res, 400, "IDGEN-COMMON-0001")
        assert.strictEqual(error.details.errors[0].field, field, res.text)
      }
      const tags = yield* server.request("GET", "/api/v1/admin/workspaces/rules/biz-tags", { admin: true })
      assert.deepStrictEqual(tags.json, [])
    }))

  it.effect("biz-tags: PATCH changes settings (200), validates the result, 409 for the rendering of issued numbers, 404 for an unknown tag", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* workspaceWithKey(server, { name: "patch" })
      yield* createBizTag(server, "patch", { group: "g", name: "t", algorithm: "segment" })
      const path = "/api/v1/admin/workspaces/patch/biz-tags/g/t"

      const step = yield* server.request("PATCH", path, { admin: true, json: { step: 50, fallback: ["uuid_v7"] } })
      assert.strictEqual(step.status, 200, step.text)
      assert.strictEqual(step.json.step, 50)
      assert.deepStrictEqual(step.json.fallback, ["uuid_v7"])
      assert.strictEqual(step.json.algorithm, "segment")

      assertError(yield* server.request("PATCH", path, { admin: true, json: { algorithm: "formatted" } }), 400, "IDGEN-COMMON-0001")
      assertError(yield* server.request("PATCH", path, { admin: true, json: { algorithm: "uuid_v7" } }), 400, "IDGEN-COMMON-0001")
      assertError(yield* server.request("PATCH", path, { admin: true, json: { step: -1 } }), 400, "IDGEN-COMMON-0001")

      const toFormatted = yield* server.request("PATCH", path, {
        admin: true,
        json: { algorithm: "formatted", format_template: "T{SEQ:4}", fallback: [] }
      })
      assert.strictEqual(toFormatted.status, 200, toFormatted.text)
      assert.strictEqual(toFormatted.json.algorithm, "formatted")
      const id = yield* server.request("POST", "/api/v1/generate", {
        apiKey,
        json: { workspace: "patch", group: "g", biz_tag: "t" }
      })
      assert.strictEqual(id.status, 200, id.text)
      assert.strictEqual(id.json.algorithm, "formatted")
      assert.match(id.json.id, /^T\d{4,}$/)

      // Numbers issued: the rendering is fixed (test/http/operator-api.test.ts), other settings are not.
      assertError(
        yield* server.request("PATCH", path, { admin: true, json: { algorithm: "snowflake", format_template: null } }),
        409,
        "IDGEN-COMMON-0008"
      )
      const toSnowflake = yield* server.request("PATCH", path, { admin: true, json: { fallback: ["snowflake"] } })
      assert.strictEqual(toSnowflake.status, 200, toSnowflake.text)
      assert.deepStrictEqual(toSnowflake.json.fallback, ["snowflake"])

      assertError(
        yield* server.request("PATCH", "/api/v1/admin/workspaces/patch/biz-tags/g/unknown", { admin: true, json: { step: 5 } }),
        404,
        "IDGEN-COMMON-0007"
      )
      assertError(
        yield* server.request("PATCH", "/api/v1/admin/workspaces/nowhere/biz-tags/g/t", { admin: true, json: { step: 5 } }),
        404,
        "IDGEN-COMMON-0007"
      )
    }))

  it.effect("api-keys: create (201, shown once), optional body, expiry, 404s; delete 204 / 404", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      yield* workspaceWithKey(server, { name: "keys" })
      yield* workspaceWithKey(server, { name: "keys_other" })
      const base = "/api/v1/admin/workspaces/keys/api-keys"

      const bare = yield* server.request("POST", base, { admin: true })
      assert.strictEqual(bare.status, 201, bare.text)
      assert.deepStrictEqual(Object.keys(bare.json).sort(), ["expires_at", "id", "key", "prefix"])
      const match = keyFormat.exec(bare.json.key)
      assert.isNotNull(match, bare.json.key)
      assert.strictEqual(match![1], "keys")
      assert.strictEqual(bare.json.prefix, `idgen_keys_${match![2]!.slice(0, 8)}`)
      assert.isNull(bare.json.expires_at)
      assert.match(bare.json.id, uuidFormat)

      const expiresAt = new Date(Date.now() + 86_400_000)
      const named = yield* server.request("POST", base, { admin: true, json: { name: "ci", expires_at: expiresAt.toISOString() } })
      assert.strictEqual(named.status, 201, named.text)
      assert.strictEqual(Date.parse(named.json.expires_at), expiresAt.getTime())
      assert.notStrictEqual(named.json.key, bare.json.key)

      const empty = yield* server.request("POST", base, { admin: true, json: {} })
      assert.strictEqual(empty.status, 201, empty.text)

      const underscore = yield* server.request("POST", "/api/v1/admin/workspaces/keys_other/api-keys", { admin: true })
      assert.strictEqual(keyFormat.exec(underscore.json.key)![1], "keys_other")
      const works = yield* server.request("POST", "/api/v1/generate", {
        apiKey: underscore.json.key,
        json: { workspace: "keys_other", group: "g", biz_tag: "t" }
      })
      assert.strictEqual(works.status, 200, works.text)

      assertError(yield* server.request("POST", base, { admin: true, json: { expires_at: "2000-01-01T00:00:00Z" } }), 400, "IDGEN-COMMON-0001")
      assertError(yield* server.request("POST", base, { admin: true, json: { expires_at: "tomorrow" } }), 400, "IDGEN-COMMON-0001")
      assertError(yield* server.request("POST", base, { admin: true, json: { name: 42 } }), 400, "IDGEN-COMMON-0001")
      assertError(
        yield* server.request("POST", "/api/v1/admin/workspaces/nowhere/api-keys", { admin: true, json: {} }),
        404,
        "IDGEN-COMMON-0007"
      )

      const revoked = yield* server.request("DELETE", `${base}/${named.json.id}`, { admin: true })
      assert.strictEqual(revoked.status, 204, revoked.text)
      assert.isString(revoked.headers.get("x-request-id"))
      assertError(yield* server.request("DELETE", `${base}/00000000-0000-4000-8000-000000000000`, { admin: true }), 404, "IDGEN-COMMON-0007")
      assertError(yield* server.request("DELETE", `${base}/not-a-uuid`, { admin: true }), 404, "IDGEN-COMMON-0007")
      // A key id of another workspace is unknown here
      assertError(
        yield* server.request("DELETE", `/api/v1/admin/workspaces/keys_other/api-keys/${bare.json.id}`, { admin: true }),
        404,
        "IDGEN-COMMON-0007"
      )
    }))
})
