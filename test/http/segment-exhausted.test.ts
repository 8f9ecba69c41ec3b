/**
 * IDGEN-SEG-1001 over HTTP: a server whose datacenter range holds only a few numbers
 * (IDGEN_SEGMENT_RANGE_SIZE) answers 500 SegmentExhausted once they are used up — and
 * not before: a batch larger than what is left is refused without using up the rest.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { assertError, ServerProcess, workspaceWithKey } from "../support/ServerProcess.ts"

const rangeSize = 30

layer(ServerProcess.layer({ env: { IDGEN_SEGMENT_RANGE_SIZE: String(rangeSize) } }), {
  timeout: "120 seconds",
  excludeTestServices: true
})("HTTP segment exhaustion", (it) => {
  it.effect("the range's numbers, then 500 IDGEN-SEG-1001 with the error body", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* workspaceWithKey(server, { name: "tiny" })
      const json = { workspace: "tiny", group: "g", biz_tag: "t" }
      const issued: Array<string> = []
      let last = yield* server.request("POST", "/api/v1/generate", { apiKey, json })
      while (last.status === 200 && issued.length <= rangeSize) {
        issued.push(last.json.id)
        last = yield* server.request("POST", "/api/v1/generate", { apiKey, json })
      }
      assert.isAtMost(issued.length, rangeSize)
      assert.isTrue(issued.every((id) => Number(id) >= 1 && Number(id) <= rangeSize), issued.join(","))
      const error = assertError(last, 500, "IDGEN-SEG-1001")
      assert.notInclude(JSON.stringify(error), "stack")
      // Still exhausted, still a clean answer; batches too
      assertError(yield* server.request("POST", "/api/v1/generate", { apiKey, json }), 500, "IDGEN-SEG-1001")
      assertError(
        yield* server.request("POST", "/api/v1/generate/batch", { apiKey, json: { ...json, size: 3 } }),
        500,
        "IDGEN-SEG-1001"
      )
      // Other algorithms are unaffected
      const snow = yield* server.request("POST", "/api/v1/admin/workspaces/tiny/biz-tags", {
        admin: true,
        json: { group: "g", name: "snow", algorithm: "snowflake" }
      })
      assert.strictEqual(snow.status, 201, snow.text)
      const ok = yield* server.request("POST", "/api/v1/generate", { apiKey, json: { ...json, biz_tag: "snow" } })
      assert.strictEqual(ok.status, 200, ok.text)
    }))

  it.effect("a refused batch leaves the last numbers to requests that fit; the error names the biz_tag", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* workspaceWithKey(server, { name: "edge" })
      const json = { workspace: "edge", group: "orders", biz_tag: "invoice" }
      const generate = server.request("POST", "/api/v1/generate", { apiKey, json })
      const batch = (size: number) => server.request("POST", "/api/v1/generate/batch", { apiKey, json: { ...json, size } })
      for (let i = 1; i <= rangeSize - 3; i++) {
        const one = yield* generate
        assert.strictEqual(one.status, 200, one.text)
        assert.strictEqual(one.json.id, String(i))
      }
      const refused = assertError(yield* batch(9), 500, "IDGEN-SEG-1001")
      assert.deepInclude(refused.details, { workspace: "edge", group: "orders", biz_tag: "invoice", datacenter_id: 0 })
      const single = yield* generate
      assert.strictEqual(single.status, 200, single.text)
      assert.strictEqual(single.json.id, String(rangeSize - 2))
      assertError(yield* batch(3), 500, "IDGEN-SEG-1001")
      const last = yield* batch(2)
      assert.strictEqual(last.status, 200, last.text)
      assert.deepStrictEqual(last.json.ids, [String(rangeSize - 1), String(rangeSize)])
      const after = assertError(yield* generate, 500, "IDGEN-SEG-1001")
      assert.deepInclude(after.details, { workspace: "edge", group: "orders", biz_tag: "invoice" })
    }))
})
