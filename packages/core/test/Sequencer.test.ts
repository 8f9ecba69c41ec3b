import { assert, describe, it } from "@effect/vitest"
import { Sequencer } from "@idgen/core"
import * as fc from "fast-check"

const T = 1_750_000_000_000

/** Applies an issuing decision, asserting it is well-formed, and returns the new state. */
const issued = (d: Sequencer.Decision): Sequencer.Issue | Sequencer.Logical => {
  if (d._tag !== "Issue" && d._tag !== "Logical") throw new Error(`expected an issue, got ${d._tag}`)
  return d
}

describe("snowflake Sequencer", () => {
  it("starts each new millisecond at sequence 0 and counts up within it", () => {
    let state = Sequencer.initialState()
    const a = issued(Sequencer.next(state, T))
    assert.deepStrictEqual([a._tag, a.timestampMs, a.sequence, a.count], ["Issue", T, 0, 1])
    state = a.state
    const b = issued(Sequencer.next(state, T))
    assert.deepStrictEqual([b.timestampMs, b.sequence], [T, 1])
    const c = issued(Sequencer.next(b.state, T + 3))
    assert.deepStrictEqual([c.timestampMs, c.sequence], [T + 3, 0])
  })

  it("issues 1024 per millisecond, then answers WaitUntil(next ms)", () => {
    let state = Sequencer.initialState()
    for (let i = 0; i < 1024; i++) {
      const d = issued(Sequencer.next(state, T))
      assert.strictEqual(d.sequence, i)
      state = d.state
    }
    const d = Sequencer.next(state, T)
    assert.deepStrictEqual(d, { _tag: "WaitUntil", ms: T + 1, reason: "SequenceExhausted" })
    assert.strictEqual(issued(Sequencer.next(state, T + 1)).sequence, 0)
  })

  it("a batch of 1000 is one decision; a batch of 1500 needs a second ms", () => {
    const one = issued(Sequencer.take(Sequencer.initialState(), T, 1000))
    assert.deepStrictEqual([one._tag, one.sequence, one.count, one.state.sequence], ["Issue", 0, 1000, 999])
    const big = issued(Sequencer.take(Sequencer.initialState(), T, 1500))
    assert.strictEqual(big.count, 1024)
    assert.strictEqual(Sequencer.take(big.state, T, 476)._tag, "WaitUntil")
    const rest = issued(Sequencer.take(big.state, T + 1, 476))
    assert.deepStrictEqual([rest.timestampMs, rest.sequence, rest.count], [T + 1, 0, 476])
    // A partially used millisecond only gives what is left in it.
    const tail = issued(Sequencer.take(one.state, T, 100))
    assert.deepStrictEqual([tail.sequence, tail.count], [1000, 24])
  })

  it("waits when the clock is behind by at most waitThresholdMs", () => {
    const state: Sequencer.State = { lastMs: T, sequence: 10 }
    for (const drift of [1, 3, 5]) {
      assert.deepStrictEqual(Sequencer.next(state, T - drift), { _tag: "WaitUntil", ms: T, reason: "ClockBehind" })
    }
    // The last millisecond is used up: wait for the one after it.
    assert.deepStrictEqual(
      Sequencer.next({ lastMs: T, sequence: 1023 }, T - 2),
      { _tag: "WaitUntil", ms: T + 1, reason: "SequenceExhausted" }
    )
  })

  it("issues on the logical clock when behind by more than the wait threshold, up to logicalThresholdMs", () => {
    const state: Sequencer.State = { lastMs: T, sequence: 10 }
    for (const drift of [6, 500, 1000]) {
      const d = Sequencer.next(state, T - drift)
      assert.strictEqual(d._tag, "Logical")
      if (d._tag === "Logical") {
        assert.deepStrictEqual([d.timestampMs, d.sequence, d.driftMs], [T, 11, drift])
        assert.deepStrictEqual(d.state, { lastMs: T, sequence: 11 })
      }
    }
    // On overflow the logical millisecond advances.
    const over = issued(Sequencer.take({ lastMs: T, sequence: 1023 }, T - 100, 5))
    assert.deepStrictEqual([over._tag, over.timestampMs, over.sequence, over.count], ["Logical", T + 1, 0, 5])
  })

  it("refuses when behind by more than logicalThresholdMs", () => {
    const state: Sequencer.State = { lastMs: T, sequence: 10 }
    assert.deepStrictEqual(Sequencer.next(state, T - 1001), { _tag: "ClockBackward", driftMs: 1001 })
    assert.deepStrictEqual(Sequencer.next(state, T - 86_400_000), { _tag: "ClockBackward", driftMs: 86_400_000 })
  })

  it("honours a custom policy", () => {
    const policy = { waitThresholdMs: 0, logicalThresholdMs: 0 }
    assert.strictEqual(Sequencer.next({ lastMs: T, sequence: 0 }, T - 1, policy)._tag, "ClockBackward")
    const wide = { waitThresholdMs: 50, logicalThresholdMs: 60_000 }
    assert.strictEqual(Sequencer.next({ lastMs: T, sequence: 0 }, T - 50, wide)._tag, "WaitUntil")
    assert.strictEqual(Sequencer.next({ lastMs: T, sequence: 0 }, T - 51, wide)._tag, "Logical")
    assert.strictEqual(Sequencer.next({ lastMs: T, sequence: 0 }, T - 60_001, wide)._tag, "ClockBackward")
  })

  it("initialState(afterMs) never issues at or before afterMs", () => {
    const state = Sequencer.initialState(T)
    assert.strictEqual(Sequencer.next(state, T)._tag, "WaitUntil")
    const d = issued(Sequencer.next(state, T - 200))
    assert.isTrue(d.timestampMs > T)
    assert.strictEqual(issued(Sequencer.next(state, T + 1)).timestampMs, T + 1)
  })

  it("never issues a duplicate or non-increasing pair under random clocks (incl. backward steps)", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            // Mostly small steps, some backward within each tier, some big jumps back.
            delta: fc.oneof(
              fc.integer({ min: -3, max: 3 }),
              fc.integer({ min: -1200, max: 5 }),
              fc.constantFrom(-5, -6, -1000, -1001, 0)
            ),
            n: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 1500 }))
          }),
          { maxLength: 300 }
        ),
        (steps) => {
          let state = Sequencer.initialState()
          let now = T
          let lastKey = -1
          let total = 0
          for (const { delta, n } of steps) {
            now += delta
            const d = Sequencer.take(state, now, n)
            const drift = state.lastMs - now
            switch (d._tag) {
              case "Issue":
              case "Logical": {
                assert.isTrue(d.count >= 1 && d.count <= n)
                assert.isTrue(d.sequence >= 0 && d.sequence + d.count - 1 <= 1023)
                // (timestamp, sequence) as one number: strictly above everything before.
                const firstKey = d.timestampMs * 1024 + d.sequence
                assert.isTrue(firstKey > lastKey, `reissued ${d.timestampMs}/${d.sequence}`)
                lastKey = firstKey + d.count - 1
                assert.strictEqual(d.state.lastMs * 1024 + d.state.sequence, lastKey)
                if (d._tag === "Issue") assert.isTrue(drift <= 0)
                else assert.isTrue(drift > 5 && drift <= 1000 && d.driftMs === drift)
                total += d.count
                state = d.state
                break
              }
              case "WaitUntil": {
                assert.isTrue(d.ms > now, "WaitUntil must point into the future")
                assert.isTrue(drift <= 5)
                // Waiting as told is enough to issue again.
                assert.strictEqual(Sequencer.take(state, d.ms, 1)._tag, "Issue")
                break
              }
              case "ClockBackward":
                assert.isTrue(drift > 1000 && d.driftMs === drift)
                break
            }
          }
          return total >= 0
        }
      ),
      { numRuns: 300 }
    )
  })
})
