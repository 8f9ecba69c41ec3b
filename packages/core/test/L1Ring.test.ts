import { assert, describe, it } from "@effect/vitest"
import { DoubleBuffer, L1Ring } from "@idgen/core"
import { Result } from "effect"
import * as fc from "fast-check"

const { L1Ring: Ring } = L1Ring

/**
 * A source handing out `from, from + 1, …` up to `to` (inclusive), then -1, in runs of at
 * most `longest` (a DoubleBuffer's runs stop at its preload trigger and segment switch).
 */
const counter = (from: number, to: number, longest = Infinity): L1Ring.Source => {
  let next = from
  let run = 0
  return {
    takeRun: (max) => {
      assert.isTrue(max >= 1, `takeRun(${max})`)
      run = Math.min(max, longest, to - next + 1)
      if (run <= 0) return (run = 0, -1)
      next += run
      return next - run
    },
    get runLength() {
      return run
    }
  }
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

  it("an empty take returns whenEmpty(), after the refill callback", () => {
    const calls: Array<string> = []
    const ring = new Ring({
      capacity: 4,
      low: 1,
      high: 4,
      onRefillNeeded: () => calls.push("refill"),
      whenEmpty: () => (calls.push("empty"), 99)
    })
    ring.fill(counter(1, 1))
    assert.deepStrictEqual([ring.take(), ring.take(), ring.take()], [1, 99, 99])
    assert.deepStrictEqual(calls, ["refill", "empty", "empty"])
    assert.strictEqual(ring.takenTotal, 1, "whenEmpty's numbers are not the ring's")
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

  it("a take that crosses the watermark returns its number even when the callback refills its slot", () => {
    const source = counter(1, 100)
    // low = capacity: every take crosses, and the fill inside reuses the slot just freed.
    const ring: L1Ring.L1Ring = new Ring({ capacity: 3, low: 3, high: 3, onRefillNeeded: () => ring.fill(source) })
    ring.fill(source)
    assert.deepStrictEqual(Array.from({ length: 10 }, () => ring.take()), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    assert.strictEqual(ring.length, 3)
  })

  // Property: any interleaving of fills and takes (single and batched) hands out exactly
  // the source's numbers, in order, none lost or duplicated across wraparound, whatever
  // the source's run lengths and whether the callback refills re-entrantly; the callback
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
        fc.integer({ min: 1, max: 20 }),
        fc.boolean(),
        fc.array(op, { maxLength: 300 }),
        ([capacity, [low, high]], supply, longest, reentrant, ops) => {
          const source = counter(1, supply, longest)
          let pulled = 0
          let fired = 0
          const ring: L1Ring.L1Ring = new Ring({
            capacity,
            low,
            high,
            onRefillNeeded: () => {
              fired++
              if (reentrant) pulled += ring.fill(source)
            }
          })
          const got: Array<number> = []
          // Model of the callback: armed after a fill (and at start), fires on the first
          // take that leaves fewer than `low` or comes back short; a re-entrant fill re-arms.
          let armed = true
          let expectedFires = 0
          const crossed = () => {
            expectedFires++
            armed = reentrant
          }
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
              else assert.strictEqual(before, 0)
              if (armed && (before === 0 || before - 1 < low)) crossed()
            } else {
              const taken = ring.takeInto(n, got)
              assert.strictEqual(taken, Math.min(n, before))
              if (armed && (before - taken < low || taken < n)) crossed()
            }
            assert.strictEqual(ring.belowLow, ring.length < low)
          }
          assert.strictEqual(fired, expectedFires)
          assert.strictEqual(got.length + ring.length, pulled)
          got.forEach((v, i) => assert.strictEqual(v, i + 1))
          assert.strictEqual(ring.takenTotal, got.length)
        }
      ),
      { numRuns: 500 }
    )
  })
})
