import { assert, describe, it } from "@effect/vitest"
import { UuidText, UuidV4 } from "@idgen/core"
import { Result } from "effect"
import { getRandomValues } from "node:crypto"

const shape = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe("UuidV4", () => {
  it("has version 4 and the RFC variant whatever the random bytes", () => {
    for (const byte of [0x00, 0xff, 0x5a]) {
      const u = UuidV4.make((b) => void b.fill(byte)).next()
      assert.match(u, shape)
      assert.strictEqual(Result.getOrThrow(UuidText.parseUuid(u)).version, 4)
    }
    assert.strictEqual(UuidV4.make((b) => void b.fill(0xff)).next(), "ffffffff-ffff-4fff-bfff-ffffffffffff")
    assert.strictEqual(UuidV4.make((b) => void b.fill(0)).next(), "00000000-0000-4000-8000-000000000000")
  })

  it("is unique and uses all 122 random bits", () => {
    const g = UuidV4.make((b) => void getRandomValues(b))
    const seen = new Set<string>()
    const digitsAt: Array<Set<string>> = Array.from({ length: 36 }, () => new Set())
    for (let i = 0; i < 100_000; i++) {
      const u = g.next()
      assert.isFalse(seen.has(u))
      seen.add(u)
      if (i < 5000) for (let k = 0; k < 36; k++) digitsAt[k]!.add(u[k]!)
    }
    for (let k = 0; k < 36; k++) {
      const expected = [8, 13, 18, 23].includes(k) ? 1 : k === 14 ? 1 : k === 19 ? 4 : 16
      assert.strictEqual(digitsAt[k]!.size, expected, `position ${k}`)
    }
  })
})
