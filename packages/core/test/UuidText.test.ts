import { assert, describe, it } from "@effect/vitest"
import { Errors, UuidText } from "@idgen/core"
import { Result } from "effect"

const parsed = (s: string) => Result.getOrThrow(UuidText.parseUuid(s))

describe("UuidText", () => {
  it("hex table covers every byte", () => {
    assert.strictEqual(UuidText.HEX2.length, 256)
    assert.strictEqual(UuidText.HEX2[0], "00")
    assert.strictEqual(UuidText.HEX2[0xab], "ab")
  })

  it("parses v7 with its timestamp, and v4 (either case)", () => {
    // RFC 9562 Appendix A.6 example: 2022-02-22 19:22:22 UTC = 0x017F22E279B0 ms.
    assert.deepStrictEqual(parsed("017F22E2-79B0-7CC3-98C4-DC0C0C07398F"), { version: 7, timestampMs: 0x017f22e279b0 })
    assert.strictEqual(new Date(parsed("017f22e2-79b0-7cc3-98c4-dc0c0c07398f").timestampMs!).toISOString(), "2022-02-22T19:22:22.000Z")
    assert.deepStrictEqual(parsed("919108f7-52d1-4320-9bac-f847db4148a8"), { version: 4 })
    assert.deepStrictEqual(parsed("c232ab00-9414-11ec-b3c8-9f6bdeced846"), { version: 1 })
  })

  it("rejects malformed text, other variants and undefined versions", () => {
    for (const bad of [
      "",
      "017f22e2-79b0-7cc3-98c4-dc0c0c07398",
      "017f22e279b07cc398c4dc0c0c07398f",
      "017f22e2-79b0-7cc3-98c4-dc0c0c07398g",
      "{017f22e2-79b0-7cc3-98c4-dc0c0c07398f}",
      "00000000-0000-0000-0000-000000000000",
      "ffffffff-ffff-ffff-ffff-ffffffffffff",
      "017f22e2-79b0-7cc3-c8c4-dc0c0c07398f",
      "017f22e2-79b0-9cc3-98c4-dc0c0c07398f"
    ]) {
      const r = UuidText.parseUuid(bad)
      assert.isTrue(Result.isFailure(r), bad)
      if (Result.isFailure(r)) assert.instanceOf(r.failure, Errors.InvalidRequest)
    }
  })
})
