import { assert, describe, it } from "@effect/vitest"
import { DoubleBuffer, L1Ring } from "@idgen/core"
import { Result } from "effect"
import * as fc from "fast-check"

const { L1Ring: Ring } = L1Ring

/** A source handing out `from, from + 1, …` up to `to` (inclusive), then -1. */
const counter = (from: number, to: number): L1Ring.Source => {
  let next = from
  return { take: () => (next <= to ? next++ : -1) }
}

describe("segment L1Ring", () => {
  it("is empty until filled, then hands out in order up to the high watermark", () => {
    const ring = new Ring({ capacity: 8, low: 2, high: 6 })
    assert.strictEqual(ring.take(), -1)
    assert.strictEqual(ring.fill(counter(10, 100)), 6)
    assert.strictEqual(ring.length, 6)
    assert.deepStrictEqual(Array.from({ length: 7 }, () => ring.take()), [10, 11, 12, 13, 14, 15, -1])
    assert.strictEqual(ring.takenTotal, 6)
  })

  it("fills only what the source has", () => {
    const ring = new Ring({ capacity: 8, low: 2, high: 8 })
    assert.strictEqual(ring.fill(counter(1, 3)), 3)
    assert.strictEqual(ring.fill(counter(4, 3)), 0)
    const out: Array<number> = []
    assert.strictEqual(ring.takeInto(5, out), 3)
    assert.deepStrictEqual(out, [1, 2, 3])
  })

  it("wraps around the end of its slots", () => {
    const ring = new Ring({ capacity: 4, low: 0, high: 4 })
    const source = counter(1, 1000)
    const got: Array<number> = []
    for (let round = 0; round < 5; round++) {
      ring.fill(source)
      got.push(ring.take(), ring.take(), ring.take())
    }
    assert.deepStrictEqual(got.slice(0, 6), [1, 2, 3, 4, 5, 6])
    assert.strictEqual(new Set(got).size, got.length)
  })

  it("keeps safe integers above 2^53 / 8 exact", () => {
    const big = Number.MAX_SAFE_INTEGER - 3
    const ring = new Ring({ capacity: 4, low: 0, high: 4 })
    ring.fill(counter(big, Number.MAX_SAFE_INTEGER))
    assert.deepStrictEqual([ring.take(), ring.take(), ring.take(), ring.take()], [big, big + 1, big + 2, big + 3])
  })

  it("fires the refill callback once per crossing of the low watermark, re-armed by fill", () => {
    let fired = 0
    const ring = new Ring({ capacity: 10, low: 3, high: 10, onRefillNeeded: () => fired++ })
    ring.fill(counter(1, 100))
    for (let i = 0; i < 7; i++) ring.take()
    assert.strictEqual(fired, 0, "exactly low numbers left: not below yet")
    ring.take()
    assert.strictEqual(fired, 1)
    ring.take()
    ring.take()
    assert.strictEqual(ring.take(), -1)
    assert.strictEqual(fired, 1, "no second call before a fill")
    // A partial fill (source dry) re-arms: the next take asks again.
    ring.fill(counter(200, 200))
    assert.strictEqual(ring.take(), 200)
    assert.strictEqual(fired, 2)
  })

  it("an empty take fires too, and the callback may refill re-entrantly", () => {
    const source = counter(1, 100)
    const ring: L1Ring.L1Ring = new Ring({ capacity: 4, low: 1, high: 4, onRefillNeeded: () => ring.fill(source) })
    assert.strictEqual(ring.take(), -1)
    assert.strictEqual(ring.length, 4)
    assert.deepStrictEqual([ring.take(), ring.take(), ring.take(), ring.take(), ring.take()], [1, 2, 3, 4, 5])
  })

  it("takeInto fires when it leaves the ring below low or comes back short", () => {
    let fired = 0
    const ring = new Ring({ capacity: 8, low: 2, high: 8, onRefillNeeded: () => fired++ })
    ring.fill(counter(1, 8))
    const out: Array<number> = []
    ring.takeInto(6, out)
    assert.strictEqual(fired, 0)
    ring.takeInto(1, out)
    assert.strictEqual(fired, 1)
    ring.fill(counter(9, 9))
    assert.strictEqual(ring.takeInto(5, out), 2)
    assert.strictEqual(fired, 2)
    assert.deepStrictEqual(out, [1, 2, 3, 4, 5, 6, 7, 8, 9])
  })

  it("rejects impossible shapes", () => {
    assert.throws(() => new Ring({ capacity: 0, low: 0, high: 0 }), RangeError)
    assert.throws(() => new Ring({ capacity: 4, low: 3, high: 2 }), RangeError)
    assert.throws(() => new Ring({ capacity: 4, low: 0, high: 5 }), RangeError)
  })

  it("drains a DoubleBuffer in order (the server's source)", () => {
    const buffer = new DoubleBuffer.DoubleBuffer()
    Result.getOrThrow(buffer.offer({ start: 1, end: 3 }))
    Result.getOrThrow(buffer.offer({ start: 10, end: 12 }))
    const ring = new Ring({ capacity: 4, low: 1, high: 4 })
    assert.strictEqual(ring.fill(buffer), 4)
    assert.deepStrictEqual([ring.take(), ring.take(), ring.take(), ring.take(), buffer.take()], [1, 2, 3, 10, 11])
  })

  // Property: any interleaving of fills and takes (single and batched) hands out exactly
  // the source's numbers, in order, none lost or duplicated across wraparound; the callback
  // fires exactly on the armed crossings.
  it("order, completeness and watermark semantics under random operation sequences", () => {
    const op = fc.oneof(
      fc.constant({ kind: "fill" as const, n: 0 }),
      fc.constant({ kind: "take" as const, n: 1 }),
      fc.record({ kind: fc.constant("takeInto" as const), n: fc.integer({ min: 0, max: 12 }) })
    )
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 16 }).chain((capacity) =>
          fc.tuple(
            fc.constant(capacity),
            fc.integer({ min: 0, max: capacity }).chain((high) => fc.tuple(fc.integer({ min: 0, max: high }), fc.constant(high)))
          )
        ),
        fc.integer({ min: 0, max: 200 }),
        fc.array(op, { maxLength: 300 }),
        ([capacity, [low, high]], supply, ops) => {
          let fired = 0
          const ring = new Ring({ capacity, low, high, onRefillNeeded: () => fired++ })
          const source = counter(1, supply)
          let pulled = 0
          const got: Array<number> = []
          // Model of the callback: armed after a fill (and at start), fires on the first
          // take that leaves fewer than `low` or comes back short.
          let armed = true
          let expectedFires = 0
          for (const { kind, n } of ops) {
            if (kind === "fill") {
              const before = ring.length
              pulled += ring.fill(source)
              assert.isTrue(ring.length <= Math.max(high, before))
              armed = true
              continue
            }
            const before = ring.length
            if (kind === "take") {
              const v = ring.take()
              if (v >= 0) got.push(v)
              if (armed && (before === 0 || before - 1 < low)) {
                armed = false
                expectedFires++
              }
            } else {
              const taken = ring.takeInto(n, got)
              if (armed && (before - taken < low || taken < n)) {
                armed = false
                expectedFires++
              }
            }
          }
          assert.strictEqual(fired, expectedFires)
          assert.strictEqual(got.length + ring.length, pulled)
          got.forEach((v, i) => assert.strictEqual(v, i + 1))
          assert.strictEqual(ring.takenTotal, got.length)
        }
      ),
      { numRuns: 300 }
    )
  })
})
