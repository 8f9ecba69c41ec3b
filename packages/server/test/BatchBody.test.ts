/**
 * The fast path's batch body bytes are the UTF-8 of the router's body text, for ASCII IDs
 * (written as latin1) and for formatted IDs with non-ASCII literals alike.
 */
import { assert, describe, it } from "@effect/vitest"
import type { GenerateResult } from "@idgen/server/generate/IdService"
import { batchBody, batchBodyBytes } from "@idgen/server/http/IdsHttp"

const cases: ReadonlyArray<GenerateResult> = [
  { ids: Array.from({ length: 1000 }, (_, i) => String(1_000_000 + i)), algorithm: "segment", timestampMs: 0 },
  { ids: ["0190f3a4-5b6c-7d8e-9f00-112233445566"], algorithm: "uuid_v7", timestampMs: 0 },
  { ids: ["订单-20260101-0001", "Zürich-€-0002", "🚀3", "quote\"back\\slash"], algorithm: "formatted", timestampMs: 0 }
]

describe("batch body bytes", () => {
  for (const result of cases) {
    it(result.algorithm, () => {
      const bytes = batchBodyBytes(result)
      assert.strictEqual(bytes.toString("utf8"), batchBody(result))
      assert.deepStrictEqual(JSON.parse(bytes.toString("utf8")), {
        ids: result.ids,
        algorithm: result.algorithm,
        count: result.ids.length
      })
    })
  }
})
