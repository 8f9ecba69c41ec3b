/**
 * The server's BatchGenerateResponse encoder writes exactly the generated encoder's bytes,
 * and the generated decoder reads them back, for every shape an ID can take.
 */
import { assert, describe, it } from "@effect/vitest"
import { encodeBatchGenerateResponse, IdgenV1 } from "@idgen/protocol/grpc"

const cases: ReadonlyArray<readonly [string, IdgenV1.BatchGenerateResponse]> = [
  ["empty", { ids: [], algorithm: "", count: 0 }],
  ["segment", { ids: Array.from({ length: 1000 }, (_, i) => String(i + 1)), algorithm: "segment", count: 1000 }],
  ["snowflake", { ids: ["7412345678901234567", "7412345678901234568"], algorithm: "snowflake", count: 2 }],
  ["uuid", { ids: ["0190f3a4-5b6c-7d8e-9f00-112233445566"], algorithm: "uuid_v7", count: 1 }],
  ["formatted, non-ASCII literals", { ids: ["订单-2026-0001", "Zürich-€-0002", "🚀3"], algorithm: "formatted", count: 3 }],
  ["IDs of 127, 128 and 20 000 bytes (multi-byte lengths)", {
    ids: ["x".repeat(127), "y".repeat(128), "é".repeat(10_000)],
    algorithm: "formatted",
    count: 3
  }],
  ["an ASCII ID longer than a one-byte length (generated encoder)", {
    ids: ["1", "z".repeat(200)],
    algorithm: "segment",
    count: 2
  }],
  ["10 000 IDs (count needs two varint bytes)", {
    ids: Array.from({ length: 10_000 }, (_, i) => String(1e15 + i)),
    algorithm: "segment",
    count: 10_000
  }]
]

describe("BatchGenerateResponse encoder", () => {
  for (const [name, message] of cases) {
    it(name, () => {
      const generated = Buffer.from(IdgenV1.BatchGenerateResponse.encode(message).finish())
      const fast = encodeBatchGenerateResponse(message)
      assert.isTrue(fast.equals(generated), `bytes differ for ${name}`)
      assert.deepStrictEqual(IdgenV1.BatchGenerateResponse.decode(fast), message)
    })
  }

  it("returns an independent copy", () => {
    const first = encodeBatchGenerateResponse({ ids: ["1", "2"], algorithm: "segment", count: 2 })
    const copy = Buffer.from(first)
    encodeBatchGenerateResponse({ ids: ["999", "1000"], algorithm: "segment", count: 2 })
    assert.isTrue(first.equals(copy))
  })
})
