/**
 * The chaos run's duplicate counting: exact for numbers (64-bit values, 19-digit snowflake
 * IDs included), exact for strings after re-reading the file, traced to the requests that
 * received each duplicate, and a key set that stays exact as it grows.
 */
import { assert, describe, it } from "@effect/vitest"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { IdLedger } from "./IdLedger.ts"
import { decimalKey, KeySet } from "./KeySet.ts"

const withLedger = async (f: (ledger: IdLedger) => Promise<void>) => {
  const dir = mkdtempSync(join(tmpdir(), "idgen-ledger-test-"))
  try {
    await f(new IdLedger(dir))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

describe("IdLedger", () => {
  it("counts repeated numbers exactly per biz_tag, segment and snowflake IDs in one space, and names the requests", () =>
    withLedger(async (ledger) => {
      const segment = Array.from({ length: 50_000 }, (_, i) => String(i + 1))
      const snowflake = Array.from({ length: 50_000 }, (_, i) => String(7_000_000_000_000_000_000n + BigInt(i)))
      ledger.record("a", "segment", segment, 1)
      ledger.record("a", "snowflake", snowflake, 2)
      // The same numbers under another biz_tag are no duplicates.
      ledger.record("b", "segment", segment.slice(0, 100), 3)
      const repeats = ledger.record("a", "snowflake", [snowflake[17]!, segment[3]!, "999999999"], 4)
      assert.strictEqual(repeats, 2)
      const { spaces, evidence } = await ledger.finish()
      assert.deepStrictEqual(spaces.map((s) => [s.space, s.ids, s.duplicates]), [["a/number", 100_003, 2], ["b/number", 100, 0]])
      assert.deepStrictEqual(
        evidence.map((e) => [e.id, e.requests]).sort(),
        [[segment[3]!, [1, 4]], [snowflake[17]!, [2, 4]]].sort()
      )
    }))

  it("confirms repeated strings by comparing them, per biz_tag", () =>
    withLedger(async (ledger) => {
      const uuids = Array.from({ length: 20_000 }, (_, i) => `0190a1b2-c3d4-7e5f-8a9b-${i.toString(16).padStart(12, "0")}`)
      ledger.record("u", "uuid_v7", uuids, 1)
      ledger.record("u", "uuid_v7", [uuids[5]!, uuids[5]!, uuids[6]!], 2)
      ledger.record("f", "formatted", ["F1", "F2", "F1"], 3)
      const { spaces, evidence } = await ledger.finish()
      assert.deepStrictEqual(spaces.map((s) => [s.space, s.duplicates, s.hashCollisions]), [["u/string", 3, 0], ["f/string", 1, 0]])
      assert.deepStrictEqual(evidence.find((e) => e.id === uuids[5])?.requests, [1, 2, 2])
    }))

  it("refuses IDs of a numeric algorithm that are not canonical decimals below 2^64", () =>
    withLedger(async (ledger) => {
      ledger.record("a", "segment", ["01", "-1", "1e3", "18446744073709551616", "18446744073709551615"], 1)
      assert.deepStrictEqual(ledger.malformed.map((m) => m.id), ["01", "-1", "1e3", "18446744073709551616"])
      assert.deepStrictEqual(decimalKey("18446744073709551615"), [0xffffffff, 0xffffffff])
    }))
})

describe("KeySet", () => {
  it("stays exact while growing far past its first capacity", () => {
    const set = new KeySet(16)
    const reference = new Set<string>()
    let state = 12345
    const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0)
    for (let i = 0; i < 200_000; i++) {
      const hi = next() & 0xff
      const lo = next()
      assert.strictEqual(set.add(hi, lo), !reference.has(`${hi}:${lo}`))
      reference.add(`${hi}:${lo}`)
    }
    assert.strictEqual(set.size, reference.size)
  })
})
