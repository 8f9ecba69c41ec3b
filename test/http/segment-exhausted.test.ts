/**
 * IDGEN-SEG-1001 over HTTP: a server whose datacenter range holds only a few numbers
 * (IDGEN_SEGMENT_RANGE_SIZE) answers 500 SegmentExhausted once they are used up.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { assertError, ServerProcess, workspaceWithKey } from "../support/ServerProcess.ts"

const rangeSize = 5

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
})
