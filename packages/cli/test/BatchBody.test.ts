/**
 * The load generator's reader of batch bodies returns what JSON.parse does — for the
 * server's layout and for anything else (escapes, other key order, no IDs) — and rejects
 * a body that is not JSON.
 */
import { assert, describe, it } from "@effect/vitest"
import { batchIds } from "@idgen/cli/bench/BatchBody"

const bodies: ReadonlyArray<string> = [
  JSON.stringify({ ids: Array.from({ length: 1000 }, (_, i) => String(1_000_000 + i)), algorithm: "segment", count: 1000 }),
  JSON.stringify({ ids: ["1"], algorithm: "segment", count: 1 }),
  JSON.stringify({ ids: [], algorithm: "segment", count: 0 }),
  JSON.stringify({ ids: ["a\"b", "c\\d"], algorithm: "formatted", count: 2 }),
  JSON.stringify({ ids: ["订单-1", "x,y", "]", "\",\""], algorithm: "formatted", count: 4 }),
  JSON.stringify({ algorithm: "segment", ids: ["7", "8"], count: 2 }),
  "{\"ids\":[\"1\"]}"
]

describe("batchIds", () => {
  for (const body of bodies) {
    it(body.slice(0, 40), () => {
      assert.deepStrictEqual(batchIds(body), (JSON.parse(body) as { ids: ReadonlyArray<string> }).ids)
    })
  }

  it("rejects a body that is not JSON", () => {
    assert.throws(() => batchIds("{\"ids\":[\"1\",\"2\"],\"algorithm\":\"segment\",\"count\":2"))
    assert.throws(() => batchIds("{\"ids\":[\"1\""))
  })
})
