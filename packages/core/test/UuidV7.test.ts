import { assert, describe, it } from "@effect/vitest"
import { UuidText, UuidV7 } from "@idgen/core"
import { Result } from "effect"
import { getRandomValues } from "node:crypto"

const T = 1_764_028_800_000 // 2025-11-25T00:00:00Z
const crypto = (bytes: Uint8Array) => void getRandomValues(bytes)
const constant = (byte: number) => (bytes: Uint8Array) => void bytes.fill(byte)
const shape = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

const timestampOf = (u: string) => Result.getOrThrow(UuidText.parseUuid(u)).timestampMs

describe("UuidV7", () => {
  it("has version 7, the RFC variant, lowercase text and the clock's timestamp", () => {
    const g = UuidV7.make(crypto)
    for (let i = 0; i < 2000; i++) {
      const u = g.next(T + (i >> 4))
      assert.match(u, shape)
      assert.strictEqual(timestampOf(u), T + (i >> 4))
    }
  })

  it("is strictly increasing over 1 M values: same ms, counter overflow, clock going back", () => {
    for (const counterBits of [UuidV7.DEFAULT_COUNTER_BITS, UuidV7.MIN_COUNTER_BITS]) {
      const g = UuidV7.make(crypto, { counterBits })
      let prev = ""
      let now = T
      let maxNow = 0
      for (let i = 0; i < 1_000_000; i++) {
        // Long runs in one ms (≫ 2^11 with 12 counter bits), small steps, and jumps back.
        if (i % 50_000 === 0) now -= 20
        else if (i % 7_000 === 0) now += 1
        maxNow = Math.max(maxNow, now)
        const u = g.next(now)
        if (!(u > prev)) assert.fail(`not increasing at ${i} (${counterBits} bits): ${prev} then ${u}`)
        prev = u
        if (i % 1000 === 0) assert.match(u, shape)
      }
      const maxTs = timestampOf(prev)!
      if (counterBits === UuidV7.MIN_COUNTER_BITS) {
        // 1 M values in ~150 clock ms cannot fit 2^11+ per ms: the embedded time ran ahead.
        assert.isTrue(maxTs > maxNow, "counter overflow must advance the embedded timestamp")
      } else {
        // 2^25+ values per ms: no overflow, the embedded time is the clock's high-water mark.
        assert.strictEqual(maxTs, maxNow)
      }
    }
  })

  it("on counter overflow advances the embedded timestamp by exactly one ms", () => {
    // All-ones randomness seeds the 12-bit counter at 2^11 - 1, leaving 2^11 more values in the ms.
    const g = UuidV7.make(constant(0xff), { counterBits: 12 })
    const values = Array.from({ length: 2049 + 2049 + 1 }, () => g.next(T))
    assert.strictEqual(timestampOf(values[0]!), T)
    assert.strictEqual(timestampOf(values[2048]!), T)
    assert.strictEqual(timestampOf(values[2049]!), T + 1)
    assert.strictEqual(timestampOf(values[4098]!), T + 2)
    assert.strictEqual(values[0]!.slice(15, 18), "7ff")
    assert.strictEqual(values[2048]!.slice(15, 18), "fff")
    // The clock catching up continues after the advanced timestamp, without going back.
    const after = g.next(T + 1)
    assert.isTrue(after > values[4098]!)
    assert.strictEqual(timestampOf(g.next(T + 5)), T + 5)
  })

  it("seeds the counter with its top bit clear and draws fresh random bits per UUID", () => {
    const g = UuidV7.make(crypto)
    const seen = new Set<string>()
    for (let ms = 0; ms < 200; ms++) {
      const u = g.next(T + ms)
      // rand_a's first hex digit carries the counter's top bit: always < 8 at a seed.
      assert.isTrue(parseInt(u[15]!, 16) < 8)
      seen.add(u.slice(24))
    }
    assert.strictEqual(seen.size, 200)
  })

  it("rejects bad options and impossible clocks", () => {
    assert.throws(() => UuidV7.make(crypto, { counterBits: 11 }), RangeError)
    assert.throws(() => UuidV7.make(crypto, { counterBits: 27 }), RangeError)
    assert.throws(() => UuidV7.make(crypto).next(-1), RangeError)
    assert.throws(() => UuidV7.make(crypto).next(2 ** 48), RangeError)
    assert.throws(() => UuidV7.make(crypto).next(Number.NaN), RangeError)
  })
})
