import { assert, describe, it } from "@effect/vitest"
import { RandomPool } from "@idgen/core"

describe("RandomPool", () => {
  it("draws from the source in whole chunks and hands each byte out once", () => {
    let calls = 0
    let counter = 0
    const pool = new RandomPool.RandomPool((bytes) => {
      calls++
      for (let i = 0; i < bytes.length; i++) bytes[i] = counter++ & 0xff
    }, 64)
    assert.strictEqual(calls, 0)
    const seen: Array<number> = []
    for (let i = 0; i < 20; i++) {
      const p = pool.reserve(6)
      for (let k = 0; k < 6; k++) seen.push(pool.bytes[p + k]!)
    }
    // 10 reservations of 6 fit in 64 bytes; the 11th needs a refill, the rest fit in it.
    assert.strictEqual(calls, 2)
    assert.deepStrictEqual(seen.slice(0, 6), [0, 1, 2, 3, 4, 5])
    assert.deepStrictEqual(seen.slice(60, 66), [64, 65, 66, 67, 68, 69])
  })

  it("reads big-endian unsigned 32-bit values", () => {
    const pool = new RandomPool.RandomPool((b) => void b.fill(0xff), 16)
    assert.strictEqual(pool.uint32(), 0xffffffff)
  })

  it("refuses sizes crypto.getRandomValues cannot fill", () => {
    assert.throws(() => new RandomPool.RandomPool(() => {}, 65_537), RangeError)
    assert.throws(() => new RandomPool.RandomPool(() => {}, 8), RangeError)
  })
})
