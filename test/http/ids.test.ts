/**
 * The ID endpoints of the real server process: generate, batch, parse, and every error
 * they can answer (400, 401, 403, 404), each with the contract's error body and
 * X-Request-Id.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import {
  assertError,
  createBizTag,
  rfc3339,
  ServerProcess,
  wait,
  workspaceWithKey
} from "../support/ServerProcess.ts"

const decimal = /^[1-9][0-9]*$/
const uuid = (version: number) => new RegExp(`^[0-9a-f]{8}-[0-9a-f]{4}-${version}[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
const increasingBigInts = (ids: ReadonlyArray<string>) => ids.every((id, i) => i === 0 || BigInt(id) > BigInt(ids[i - 1]!))
const increasingStrings = (ids: ReadonlyArray<string>) => ids.every((id, i) => i === 0 || id > ids[i - 1]!)

const seq = (workspace: string, biz_tag = "orders", group = "shop") => ({ workspace, group, biz_tag })

layer(ServerProcess.layer(), { timeout: "120 seconds", excludeTestServices: true })("HTTP ID endpoints", (it) => {
  it.effect("generate: one segment id, RFC 3339 timestamp, X-Request-Id on success", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* workspaceWithKey(server, { name: "gen" })
      const res = yield* server.request("POST", "/api/v1/generate", { apiKey, json: seq("gen") })
      assert.strictEqual(res.status, 200, res.text)
      assert.deepStrictEqual(Object.keys(res.json).sort(), ["algorithm", "id", "timestamp"])
      assert.match(res.json.id, decimal)
      assert.strictEqual(res.json.algorithm, "segment")
      assert.match(res.json.timestamp, rfc3339)
      assert.match(res.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/)
      assert.strictEqual(res.headers.get("content-type"), "application/json")

      const next = yield* server.request("POST", "/api/v1/generate", { apiKey, json: seq("gen") })
      assert.isTrue(BigInt(next.json.id) > BigInt(res.json.id))
    }))

  it.effect("X-Request-Id: a sane caller id is echoed (success and error), anything else replaced", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* workspaceWithKey(server, { name: "reqid" })
      const ok = yield* server.request("POST", "/api/v1/generate", {
        apiKey,
        json: seq("reqid"),
        headers: { "x-request-id": "trace-42.abc" }
      })
      assert.strictEqual(ok.headers.get("x-request-id"), "trace-42.abc")
      const failed = yield* server.request("POST", "/api/v1/generate", {
        json: seq("reqid"),
        headers: { "x-request-id": "trace-43" }
      })
      assert.strictEqual(assertError(failed, 401, "IDGEN-COMMON-0002").request_id, "trace-43")
      const insane = yield* server.request("POST", "/api/v1/generate", {
        apiKey,
        json: seq("reqid"),
        headers: { "x-request-id": "x".repeat(300) }
      })
      assert.match(insane.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/)
    }))

  it.effect("batch: increasing ids, count = size, bounds 1 and 10000", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* workspaceWithKey(server, { name: "batch" })
      for (const size of [1, 7, 10_000]) {
        const res = yield* server.request("POST", "/api/v1/generate/batch", { apiKey, json: { ...seq("batch"), size } })
        assert.strictEqual(res.status, 200, res.text)
        assert.deepStrictEqual(Object.keys(res.json).sort(), ["algorithm", "count", "ids"])
        assert.strictEqual(res.json.count, size)
        assert.strictEqual(res.json.ids.length, size)
        assert.strictEqual(res.json.algorithm, "segment")
        assert.isTrue(res.json.ids.every((id: string) => decimal.test(id)))
        assert.isTrue(increasingBigInts(res.json.ids))
        assert.strictEqual(new Set(res.json.ids).size, size)
      }
    }))

  it.effect("batch size out of range or of the wrong type → 400 naming the field", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* workspaceWithKey(server, { name: "sizes" })
      for (const size of [0, 10_001, -1, 1.5, "5", null]) {
        const res = yield* server.request("POST", "/api/v1/generate/batch", { apiKey, json: { ...seq("sizes"), size } })
        const error = assertError(res, 400, "IDGEN-COMMON-0001")
        assert.strictEqual(error.details.location, "body")
        assert.strictEqual(error.details.errors[0].field, "size", res.text)
        assert.include(error.message, "size")
      }
      const missing = yield* server.request("POST", "/api/v1/generate/batch", { apiKey, json: seq("sizes") })
      assert.strictEqual(assertError(missing, 400, "IDGEN-COMMON-0001").details.errors[0].field, "size")
    }))

  it.effect("auto-creation: an unknown biz_tag is created on first use with the workspace's default algorithm", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* workspaceWithKey(server, { name: "auto", default_algorithm: "snowflake" })
      const res = yield* server.request("POST", "/api/v1/generate", { apiKey, json: seq("auto", "fresh", "new-group") })
      assert.strictEqual(res.status, 200, res.text)
      assert.strictEqual(res.json.algorithm, "snowflake")
      const tags = yield* server.request("GET", "/api/v1/admin/workspaces/auto/biz-tags", { admin: true })
      const created = tags.json.find((t: any) => t.group === "new-group" && t.name === "fresh")
      assert.isDefined(created, tags.text)
      assert.strictEqual(created.algorithm, "snowflake")
    }))

  it.effect("auto_create_biz_tags false: an unknown biz_tag is 404 until an operator creates it", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* workspaceWithKey(server, { name: "strict", auto_create_biz_tags: false })
      const unknown = yield* server.request("POST", "/api/v1/generate", { apiKey, json: seq("strict") })
      assertError(unknown, 404, "IDGEN-COMMON-0007")
      const batch = yield* server.request("POST", "/api/v1/generate/batch", { apiKey, json: { ...seq("strict"), size: 2 } })
      assertError(batch, 404, "IDGEN-COMMON-0007")
      yield* createBizTag(server, "strict", { group: "shop", name: "orders", algorithm: "segment" })
      const known = yield* server.request("POST", "/api/v1/generate", { apiKey, json: seq("strict") })
      assert.strictEqual(known.status, 200, known.text)
    }))

  it.effect("all five algorithms, configured through biz-tag creation", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* workspaceWithKey(server, { name: "algos" })
      const tags = [
        { name: "seg", algorithm: "segment" },
        { name: "snow", algorithm: "snowflake" },
        { name: "v7", algorithm: "uuid_v7" },
        { name: "v4", algorithm: "uuid_v4" },
        { name: "fmt", algorithm: "formatted", format_template: "WB{YYYYMMDD}{SEQ:8}" }
      ]
      for (const tag of tags) yield* createBizTag(server, "algos", { group: "g", ...tag })
      const batch = (name: string) =>
        Effect.map(
          server.request("POST", "/api/v1/generate/batch", { apiKey, json: { ...seq("algos", name, "g"), size: 50 } }),
          (res) => {
            assert.strictEqual(res.status, 200, res.text)
            assert.strictEqual(res.json.count, 50)
            return res.json as { ids: Array<string>; algorithm: string }
          }
        )

      const seg = yield* batch("seg")
      assert.strictEqual(seg.algorithm, "segment")
      assert.isTrue(increasingBigInts(seg.ids))

      const snow = yield* batch("snow")
      assert.strictEqual(snow.algorithm, "snowflake")
      assert.isTrue(snow.ids.every((id) => decimal.test(id) && BigInt(id) < 2n ** 63n))
      assert.isTrue(increasingBigInts(snow.ids))

      const v7 = yield* batch("v7")
      assert.strictEqual(v7.algorithm, "uuid_v7")
      assert.isTrue(v7.ids.every((id) => uuid(7).test(id)))
      assert.isTrue(increasingStrings(v7.ids))

      const v4 = yield* batch("v4")
      assert.strictEqual(v4.algorithm, "uuid_v4")
      assert.isTrue(v4.ids.every((id) => uuid(4).test(id)))
      assert.strictEqual(new Set(v4.ids).size, 50)

      const fmt = yield* batch("fmt")
      assert.strictEqual(fmt.algorithm, "formatted")
      const today = new Date().toISOString().slice(0, 10).replaceAll("-", "")
      assert.isTrue(fmt.ids.every((id) => /^WB\d{8}\d{8,}$/.test(id)), fmt.ids[0])
      assert.isTrue(fmt.ids.some((id) => id.startsWith(`WB${today}`)))
      assert.strictEqual(new Set(fmt.ids).size, 50)

      const one = yield* server.request("POST", "/api/v1/generate", { apiKey, json: seq("algos", "v7", "g") })
      assert.strictEqual(one.json.algorithm, "uuid_v7")
      assert.match(one.json.id, uuid(7))
    }))

  it.effect("parse: snowflake without context, uuid v7/v4, segment with context; not an id (of its biz_tag) → 400", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* workspaceWithKey(server, { name: "parse" })
      yield* createBizTag(server, "parse", { group: "g", name: "snow", algorithm: "snowflake" })
      yield* createBizTag(server, "parse", { group: "g", name: "v7", algorithm: "uuid_v7" })
      yield* createBizTag(server, "parse", { group: "g", name: "seg", algorithm: "segment" })
      const generate = (name: string) =>
        Effect.map(
          server.request("POST", "/api/v1/generate", { apiKey, json: seq("parse", name, "g") }),
          (res) => res.json as { id: string; timestamp: string }
        )
      const parse = (json: Record<string, unknown>) => server.request("POST", "/api/v1/parse", { apiKey, json })

      const snow = yield* generate("snow")
      const parsedSnow = yield* parse({ id: snow.id })
      assert.strictEqual(parsedSnow.status, 200, parsedSnow.text)
      assert.strictEqual(parsedSnow.json.id, snow.id)
      assert.strictEqual(parsedSnow.json.algorithm, "snowflake")
      assert.match(parsedSnow.json.timestamp, rfc3339)
      assert.isNumber(parsedSnow.json.timestamp_ms)
      assert.isBelow(Math.abs(parsedSnow.json.timestamp_ms - Date.parse(snow.timestamp)), 5_000)
      assert.strictEqual(parsedSnow.json.datacenter_id, 0)
      assert.isNumber(parsedSnow.json.worker_id)
      assert.isNumber(parsedSnow.json.sequence)

      const v7 = yield* generate("v7")
      const parsedV7 = yield* parse({ id: v7.id })
      assert.strictEqual(parsedV7.status, 200, parsedV7.text)
      assert.strictEqual(parsedV7.json.algorithm, "uuid_v7")
      assert.strictEqual(parsedV7.json.version, 7)
      assert.match(parsedV7.json.timestamp, rfc3339)

      const parsedV4 = yield* parse({ id: crypto.randomUUID() })
      assert.strictEqual(parsedV4.status, 200, parsedV4.text)
      assert.strictEqual(parsedV4.json.algorithm, "uuid_v4")
      assert.strictEqual(parsedV4.json.version, 4)

      const seg = yield* generate("seg")
      const parsedSeg = yield* parse({ id: seg.id, ...seq("parse", "seg", "g") })
      assert.strictEqual(parsedSeg.status, 200, parsedSeg.text)
      assert.strictEqual(parsedSeg.json.algorithm, "segment")
      assert.strictEqual(parsedSeg.json.datacenter_id, 0)

      // With a biz_tag, only what its chain could have issued: not 0 or a value above the eight
      // datacenter ranges of a segment tag, not a UUID of a segment or snowflake tag.
      for (const [id, name] of [["0", "seg"], ["9007199254740985", "seg"], [v7.id, "seg"], [v7.id, "snow"], [snow.id, "v7"]]) {
        const refused = assertError(yield* parse({ id, ...seq("parse", name, "g") }), 400, "IDGEN-COMMON-0001")
        assert.include(refused.message, "not an id of this biz_tag: it is not a", `${id} of ${name}`)
      }
      assert.strictEqual(
        assertError(yield* parse({ id: "18446744073709551615" }), 400, "IDGEN-COMMON-0001").message,
        "id exceeds 63 bits"
      )
      assertError(yield* parse({ id: "hello" }), 400, "IDGEN-COMMON-0001")
      assertError(yield* parse({ id: "" }), 400, "IDGEN-COMMON-0001")
      assertError(yield* parse({ id: 42 }), 400, "IDGEN-COMMON-0001")
      assertError(yield* parse({ id: seg.id, workspace: "parse" }), 400, "IDGEN-COMMON-0001")
      assertError(yield* parse({ id: seg.id, ...seq("other", "seg", "g") }), 403, "IDGEN-COMMON-0006")
    }))

  it.effect("400: bad JSON, wrong or missing Content-Type, empty body, oversize body, bad names, wrong field types", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* workspaceWithKey(server, { name: "bad" })
      for (const path of ["/api/v1/generate", "/api/v1/generate/batch", "/api/v1/parse"]) {
        const badJson = yield* server.request("POST", path, {
          apiKey,
          body: '{"workspace":"bad",',
          headers: { "content-type": "application/json" }
        })
        assert.include(assertError(badJson, 400, "IDGEN-COMMON-0001").message, "JSON")

        const textPlain = yield* server.request("POST", path, {
          apiKey,
          body: JSON.stringify(seq("bad")),
          headers: { "content-type": "text/plain" }
        })
        assert.strictEqual(assertError(textPlain, 400, "IDGEN-COMMON-0001").details.field, "content-type")

        const noType = yield* server.request("POST", path, { apiKey, body: new TextEncoder().encode(JSON.stringify(seq("bad"))) })
        assert.strictEqual(assertError(noType, 400, "IDGEN-COMMON-0001").details.field, "content-type")

        const empty = yield* server.request("POST", path, { apiKey, headers: { "content-type": "application/json" } })
        assertError(empty, 400, "IDGEN-COMMON-0001")

        const oversize = yield* server.request("POST", path, {
          apiKey,
          json: { ...seq("bad"), size: 1, id: "1", padding: "x".repeat(70 * 1024) }
        })
        const tooLarge = assertError(oversize, 400, "IDGEN-COMMON-0001")
        assert.strictEqual(tooLarge.details.max_bytes, 64 * 1024)
      }
      // charset parameters are fine
      const charset = yield* server.request("POST", "/api/v1/generate", {
        apiKey,
        body: JSON.stringify(seq("bad")),
        headers: { "content-type": "application/json; charset=utf-8" }
      })
      assert.strictEqual(charset.status, 200, charset.text)

      const cases: ReadonlyArray<readonly [Record<string, unknown>, string]> = [
        [{ ...seq("bad"), workspace: "Bad!" }, "workspace"],
        [{ ...seq("bad"), group: "-starts-with-dash" }, "group"],
        [{ ...seq("bad"), biz_tag: "x".repeat(65) }, "biz_tag"],
        [{ ...seq("bad"), biz_tag: 42 }, "biz_tag"],
        [{ workspace: "bad", group: "shop" }, "biz_tag"],
        [{ ...seq("bad"), workspace: ["bad"] }, "workspace"]
      ]
      for (const [json, field] of cases) {
        const res = yield* server.request("POST", "/api/v1/generate", { apiKey, json })
        const error = assertError(res, 400, "IDGEN-COMMON-0001")
        assert.strictEqual(error.details.errors[0].field, field, res.text)
      }
      for (const json of [[], null, "text", 42]) {
        assertError(yield* server.request("POST", "/api/v1/generate", { apiKey, json }), 400, "IDGEN-COMMON-0001")
      }
      // The server stays up and keeps answering
      const after = yield* server.request("POST", "/api/v1/generate", { apiKey, json: seq("bad") })
      assert.strictEqual(after.status, 200, after.text)
    }))

  it.effect("chunked bodies take the general HttpApi path and get the same answers", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* workspaceWithKey(server, { name: "chunked" })
      const chunked = (body: string, contentType = "application/json") =>
        Effect.promise(async () => {
          const response = await fetch(`${server.baseUrl}/api/v1/generate/batch`, {
            method: "POST",
            headers: { "content-type": contentType, "x-api-key": apiKey },
            body: new ReadableStream({
              start(controller) {
                controller.enqueue(new TextEncoder().encode(body))
                controller.close()
              }
            }),
            duplex: "half"
          } as RequestInit)
          const text = await response.text()
          return { status: response.status, headers: response.headers, text, json: JSON.parse(text) }
        })
      const ok = yield* chunked(JSON.stringify({ ...seq("chunked"), size: 3 }))
      assert.strictEqual(ok.status, 200, ok.text)
      assert.strictEqual(ok.json.count, 3)
      assert.isString(ok.headers.get("x-request-id"))
      assertError(yield* chunked(JSON.stringify({ ...seq("chunked"), size: 0 })), 400, "IDGEN-COMMON-0001")
      assertError(yield* chunked("{nope"), 400, "IDGEN-COMMON-0001")
      assertError(yield* chunked(JSON.stringify(seq("chunked")), "text/plain"), 400, "IDGEN-COMMON-0001")
      const huge = yield* chunked(JSON.stringify({ ...seq("chunked"), size: 1, padding: "x".repeat(70 * 1024) }))
      assert.strictEqual(assertError(huge, 400, "IDGEN-COMMON-0001").details.max_bytes, 64 * 1024)
      assertError(yield* chunked(JSON.stringify({ ...seq("other"), size: 1 })), 403, "IDGEN-COMMON-0006")
    }))

  it.effect("401: missing, malformed, unknown, revoked (within 2 s) and expired keys", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* workspaceWithKey(server, { name: "auth" })
      const generate = (key?: string) =>
        server.request("POST", "/api/v1/generate", { ...(key === undefined ? {} : { apiKey: key }), json: seq("auth") })

      assertError(yield* generate(), 401, "IDGEN-COMMON-0002")
      assertError(yield* generate("nope"), 401, "IDGEN-COMMON-0002")
      assertError(yield* generate(apiKey.toUpperCase()), 401, "IDGEN-COMMON-0002")
      assertError(yield* generate(`idgen_auth_${"0".repeat(32)}`), 401, "IDGEN-COMMON-0002")
      assertError(yield* generate(apiKey.slice(0, -1) + (apiKey.endsWith("0") ? "1" : "0")), 401, "IDGEN-COMMON-0002")
      for (const path of ["/api/v1/generate/batch", "/api/v1/parse"]) {
        assertError(yield* server.request("POST", path, { json: { ...seq("auth"), size: 1, id: "1" } }), 401, "IDGEN-COMMON-0002")
      }

      // Revocation: used (so cached), revoked, refused within 2 s
      const created = yield* server.request("POST", "/api/v1/admin/workspaces/auth/api-keys", {
        admin: true,
        json: { name: "to-revoke" }
      })
      const revocable = created.json.key as string
      assert.strictEqual((yield* generate(revocable)).status, 200)
      const deleted = yield* server.request("DELETE", `/api/v1/admin/workspaces/auth/api-keys/${created.json.id}`, {
        admin: true
      })
      assert.strictEqual(deleted.status, 204, deleted.text)
      assert.strictEqual(deleted.text, "")
      const revokedAt = Date.now()
      let status = 200
      while (status === 200 && Date.now() - revokedAt < 2_500) {
        const res = yield* generate(revocable)
        status = res.status
        if (status !== 200) assertError(res, 401, "IDGEN-COMMON-0002")
        else yield* wait(100)
      }
      assert.strictEqual(status, 401)
      assert.isBelow(Date.now() - revokedAt, 2_000)
      // The workspace's other keys keep working
      assert.strictEqual((yield* generate(apiKey)).status, 200)

      // Expiry
      const expiring = yield* server.request("POST", "/api/v1/admin/workspaces/auth/api-keys", {
        admin: true,
        json: { expires_at: new Date(Date.now() + 1_500).toISOString() }
      })
      assert.strictEqual(expiring.status, 201, expiring.text)
      assert.strictEqual((yield* generate(expiring.json.key)).status, 200)
      yield* wait(1_700)
      assertError(yield* generate(expiring.json.key), 401, "IDGEN-COMMON-0002")
    }))

  it.effect("403: a valid key of another workspace", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const own = yield* workspaceWithKey(server, { name: "mine" })
      yield* workspaceWithKey(server, { name: "theirs" })
      for (const path of ["/api/v1/generate", "/api/v1/generate/batch"]) {
        const res = yield* server.request("POST", path, { apiKey: own, json: { ...seq("theirs"), size: 1 } })
        const error = assertError(res, 403, "IDGEN-COMMON-0006")
        assert.strictEqual(error.details.workspace, "theirs")
      }
      // A workspace that does not exist at all is still someone else's: 403, not a lookup
      assertError(
        yield* server.request("POST", "/api/v1/generate", { apiKey: own, json: seq("nobody") }),
        403,
        "IDGEN-COMMON-0006"
      )
    }))
})
