import { assert, describe, it } from "@effect/vitest"
import { DecimalText } from "@idgen/core"
import * as fc from "fast-check"

describe("DecimalText", () => {
  it("matches String() for every safe non-negative integer", () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (value) => DecimalText.toDecimal(value) === String(value)),
      { numRuns: 20_000 }
    )
  })

  it("pads the low half across its boundaries", () => {
    for (const value of [2 ** 31 - 1, 2 ** 31, 10_000_000_000, 10_000_000_001, 79_999_999_999, 1_000_000_000_000_000, 2 ** 50, 2 ** 53 - 8]) {
      assert.strictEqual(DecimalText.toDecimal(value), String(value))
    }
  })
})
