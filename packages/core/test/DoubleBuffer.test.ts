import { assert, describe, it } from "@effect/vitest"
import { DoubleBuffer } from "@idgen/core"
import { Result } from "effect"
import * as fc from "fast-check"

const { DoubleBuffer: Buffer } = DoubleBuffer

const offerOk = (buf: DoubleBuffer.DoubleBuffer, start: number, end: number) => Result.getOrThrow(buf.offer({ start, end }))

const rejection = (buf: DoubleBuffer.DoubleBuffer, start: number, end: number) => {
  const r = buf.offer({ start, end })
  if (Result.isSuccess(r)) throw new Error(`accepted [${start}, ${end}]`)
  return r.failure.reason
}

describe("segment DoubleBuffer", () => {
  it("is empty until a segment is offered, then hands out the segment in order", () => {
    const buf = new Buffer()
    assert.strictEqual(buf.take(), -1)
    assert.strictEqual(buf.remaining, 0)
    assert.strictEqual(offerOk(buf, 1, 3), "current")
    assert.strictEqual(buf.remaining, 3)
    assert.deepStrictEqual([buf.take(), buf.take(), buf.take(), buf.take()], [1, 2, 3, -1])
    assert.strictEqual(buf.remaining, 0)
  })

  it("switches to next when current is used up", () => {
    const buf = new Buffer()
    offerOk(buf, 1, 5)
    assert.strictEqual(offerOk(buf, 11, 15), "next")
    assert.isTrue(buf.hasNext)
    const got = Array.from({ length: 11 }, () => buf.take())
    assert.deepStrictEqual(got, [1, 2, 3, 4, 5, 11, 12, 13, 14, 15, -1])
    assert.deepStrictEqual(buf.current, { start: 11, end: 15 })
  })

  it("takeInto appends a batch that may span the switch, and reports a short batch", () => {
    const buf = new Buffer()
    offerOk(buf, 1, 5)
    offerOk(buf, 100, 102)
    const out = [0]
    assert.strictEqual(buf.takeInto(4, out), 4)
    assert.strictEqual(buf.takeInto(3, out), 3)
    assert.deepStrictEqual(out, [0, 1, 2, 3, 4, 5, 100, 101])
    assert.strictEqual(buf.takeInto(10, out), 1)
    assert.deepStrictEqual(out.slice(-2), [101, 102])
    assert.strictEqual(buf.takeInto(10, out), 0)
    assert.strictEqual(buf.takeInto(0, out), 0)
  })

  it("installs an offer as current when current is used up, promoting a waiting next first", () => {
    const buf = new Buffer()
    offerOk(buf, 1, 2)
    offerOk(buf, 10, 11)
    buf.take()
    buf.take()
    // current used up, next waiting: the waiting one becomes current, the offer next.
    assert.strictEqual(offerOk(buf, 20, 21), "next")
    assert.deepStrictEqual([buf.take(), buf.take(), buf.take()], [10, 11, 20])
  })

  it("rejects reversals, overlaps, malformed segments and a third segment", () => {
    const buf = new Buffer()
    offerOk(buf, 100, 199)
    assert.strictEqual(rejection(buf, 50, 60), "Reversal")
    assert.strictEqual(rejection(buf, 150, 300), "Reversal")
    assert.strictEqual(rejection(buf, 199, 300), "Reversal")
    assert.strictEqual(rejection(buf, 10, 5), "Invalid")
    assert.strictEqual(rejection(buf, -5, 5), "Invalid")
    assert.strictEqual(rejection(buf, 1.5, 500), "Invalid")
    offerOk(buf, 200, 299)
    assert.strictEqual(rejection(buf, 300, 399), "Full")
    // A rejected offer changed nothing.
    assert.strictEqual(buf.remaining, 200)
    assert.strictEqual(buf.take(), 100)
    // Even once everything is handed out, the numbers may not come back.
    const drain: Array<number> = []
    buf.takeInto(1000, drain)
    assert.strictEqual(rejection(buf, 250, 260), "Reversal")
    assert.strictEqual(offerOk(buf, 300, 300), "current")
  })

  it("fires the preload callback once, when 10 % of current is consumed", () => {
    let fired = 0
    const buf = new Buffer({ onPreloadNeeded: () => fired++ })
    offerOk(buf, 1, 100)
    for (let i = 0; i < 9; i++) buf.take()
    assert.strictEqual(fired, 0)
    assert.strictEqual(buf.take(), 10)
    assert.strictEqual(fired, 1)
    assert.strictEqual(buf.consumedFraction, 0.1)
    for (let i = 0; i < 90; i++) buf.take()
    assert.strictEqual(buf.take(), -1)
    assert.strictEqual(fired, 1)
  })

  it("does not fire while a next segment is installed, and fires again for the next segment", () => {
    let fired = 0
    const buf = new Buffer({ preloadThreshold: 0.5, onPreloadNeeded: () => fired++ })
    offerOk(buf, 1, 10)
    offerOk(buf, 11, 20)
    const out: Array<number> = []
    buf.takeInto(10, out)
    assert.strictEqual(fired, 0)
    buf.takeInto(4, out)
    assert.strictEqual(fired, 0)
    buf.take() // 15: half of [11, 20]
    assert.strictEqual(fired, 1)
  })

  it("threshold 0 fires on the first take, threshold 1 on the last value", () => {
    let fired = 0
    const zero = new Buffer({ preloadThreshold: 0, onPreloadNeeded: () => fired++ })
    offerOk(zero, 1, 10)
    zero.take()
    assert.strictEqual(fired, 1)
    fired = 0
    const one = new Buffer({ preloadThreshold: 1, onPreloadNeeded: () => fired++ })
    offerOk(one, 1, 10)
    const out: Array<number> = []
    one.takeInto(9, out)
    assert.strictEqual(fired, 0)
    assert.strictEqual(one.take(), 10)
    assert.strictEqual(fired, 1)
    assert.throws(() => new Buffer({ preloadThreshold: 1.5 }), RangeError)
  })

  it("rearmPreload lets a failed load ask again", () => {
    let fired = 0
    const buf = new Buffer({ onPreloadNeeded: () => fired++ })
    offerOk(buf, 1, 10)
    buf.take()
    assert.strictEqual(fired, 1)
    buf.rearmPreload()
    buf.take()
    assert.strictEqual(fired, 2)
    buf.take()
    assert.strictEqual(fired, 2)
  })

  it("a synchronous loader inside the callback keeps an unbroken stream, one preload per segment", () => {
    let nextStart = 1
    let fired = 0
    const buf: DoubleBuffer.DoubleBuffer = new Buffer({
      onPreloadNeeded: () => {
        fired++
        if (nextStart <= 100 * 50) offerOk(buf, nextStart, nextStart + 49)
        nextStart += 50
      }
    })
    offerOk(buf, nextStart, nextStart + 49)
    nextStart += 50
    const out: Array<number> = []
    for (let v = buf.take(); v !== -1; v = buf.take()) out.push(v)
    assert.strictEqual(out.length, 100 * 50)
    assert.isTrue(out.every((v, i) => v === i + 1))
    assert.strictEqual(fired, 100)
  })

  it("takeRun hands out runs of consecutive numbers that stop at the preload trigger and the switch", () => {
    let fired = 0
    const buf = new Buffer({ preloadThreshold: 0.5, onPreloadNeeded: () => fired++ })
    assert.strictEqual(buf.takeRun(5), -1)
    assert.strictEqual(buf.runLength, 0)
    offerOk(buf, 1, 10)
    const runs: Array<[number, number]> = []
    for (let first = buf.takeRun(100); first >= 0; first = buf.takeRun(100)) {
      runs.push([first, buf.runLength])
      if (first === 5) offerOk(buf, 21, 30)
    }
    // [1, 4] below the trigger, 5 fires, [6, 10] to the end; 21 switches segments, then
    // the same split at the next segment's trigger.
    assert.deepStrictEqual(runs, [[1, 4], [5, 1], [6, 5], [21, 1], [22, 3], [25, 1], [26, 5]])
    assert.strictEqual(fired, 2)
    offerOk(buf, 40, 49)
    assert.strictEqual(buf.takeRun(3), 40)
    assert.strictEqual(buf.runLength, 3)
  })

  it("never yields a duplicate or a reversal under random interleavings of take/takeInto/takeRun/offer", () => {
    const op = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant("take" as const), consumer: fc.nat(4999) }) },
      {
        weight: 3,
        arbitrary: fc.record({ kind: fc.constant("takeInto" as const), consumer: fc.nat(4999), n: fc.integer({ min: 1, max: 120 }) })
      },
      {
        weight: 3,
        arbitrary: fc.record({ kind: fc.constant("takeRun" as const), consumer: fc.nat(4999), n: fc.integer({ min: 1, max: 120 }) })
      },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant("deliver" as const), gap: fc.nat(5), size: fc.integer({ min: 1, max: 60 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("bad" as const), back: fc.nat(30), size: fc.integer({ min: 1, max: 60 }) }) },
      { weight: 1, arbitrary: fc.constant({ kind: "rearm" as const }) }
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 1500 }), fc.double({ min: 0, max: 1, noNaN: true }), (ops, threshold) => {
        const fires = new Map<number, number>()
        const rearms = new Map<number, number>()
        const buf: DoubleBuffer.DoubleBuffer = new Buffer({
          preloadThreshold: threshold,
          onPreloadNeeded: () => {
            const start = buf.current?.start ?? -1
            fires.set(start, (fires.get(start) ?? 0) + 1)
          }
        })
        const accepted: Array<DoubleBuffer.Segment> = []
        let watermark = 0
        let supplied = 0
        let taken = 0
        let last = 0
        const seen = new Set<number>()
        const perConsumer = new Map<number, number>()
        const check = (consumer: number, v: number) => {
          assert.isTrue(v > last, `reversal: ${v} after ${last}`)
          assert.isFalse(seen.has(v), `duplicate ${v}`)
          assert.isTrue(accepted.some((s) => v >= s.start && v <= s.end), `${v} from no segment`)
          assert.isTrue(v > (perConsumer.get(consumer) ?? 0))
          perConsumer.set(consumer, v)
          seen.add(v)
          last = v
          taken++
        }
        for (const o of ops) {
          switch (o.kind) {
            case "take": {
              const v = buf.take()
              if (v === -1) assert.strictEqual(buf.remaining, 0)
              else check(o.consumer, v)
              break
            }
            case "takeInto": {
              const out: Array<number> = []
              const got = buf.takeInto(o.n, out)
              assert.strictEqual(got, out.length)
              if (got < o.n) assert.strictEqual(buf.remaining, 0)
              for (const v of out) check(o.consumer, v)
              break
            }
            case "takeRun": {
              const first = buf.takeRun(o.n)
              const count = buf.runLength
              if (first === -1) {
                assert.strictEqual(count, 0)
                assert.strictEqual(buf.remaining, 0)
              } else {
                assert.isTrue(count >= 1 && count <= o.n, `run of ${count} for ${o.n}`)
                for (let k = 0; k < count; k++) check(o.consumer, first + k)
              }
              break
            }
            case "deliver": {
              // The loader answers a request (and sometimes offers unasked).
              const start = watermark + 1 + o.gap
              const segment = { start, end: start + o.size - 1 }
              const full = buf.hasNext && buf.remaining > (buf.next!.end - buf.next!.start + 1)
              const r = buf.offer(segment)
              if (full) {
                assert.isTrue(Result.isFailure(r) && r.failure.reason === "Full")
              } else {
                assert.isTrue(Result.isSuccess(r))
                accepted.push(segment)
                watermark = segment.end
                supplied += o.size
              }
              break
            }
            case "bad": {
              if (watermark === 0) break
              const start = Math.max(0, watermark - o.back)
              const r = buf.offer({ start, end: start + o.size })
              assert.isTrue(Result.isFailure(r) && r.failure.reason === "Reversal")
              break
            }
            case "rearm": {
              const start = buf.current?.start ?? -1
              if (!buf.hasNext) rearms.set(start, (rearms.get(start) ?? 0) + 1)
              buf.rearmPreload()
              break
            }
          }
          assert.strictEqual(buf.remaining, supplied - taken)
          // Exactly once: the current segment has asked for a preload iff its consumed
          // count reached threshold × size (no next can have been installed meanwhile,
          // or it would still be waiting).
          const cur = buf.current
          if (cur !== undefined && !buf.hasNext) {
            const size = cur.end - cur.start + 1
            const consumed = Math.round(buf.consumedFraction * size)
            const due = consumed >= Math.max(1, Math.ceil(threshold * size))
            const fired = fires.get(cur.start) ?? 0
            if (due) assert.isTrue(fired >= 1, `segment ${cur.start} due but not fired`)
            else assert.strictEqual(fired, 0, `segment ${cur.start} fired early`)
          }
        }
        // At most one preload request per segment (plus one per explicit re-arm).
        for (const [start, count] of fires) assert.isTrue(count <= 1 + (rearms.get(start) ?? 0), `segment ${start} fired ${count}×`)
      }),
      { numRuns: 300 }
    )
  })
  it("a changed preload threshold applies from the next installed segment", () => {
    let fired = 0
    const buf = new Buffer({ preloadThreshold: 0.5, onPreloadNeeded: () => fired++ })
    offerOk(buf, 1, 10)
    buf.setPreloadThreshold(0.9)
    assert.strictEqual(buf.preloadThreshold, 0.9)
    for (let i = 0; i < 5; i++) buf.take()
    assert.strictEqual(fired, 1, "the current segment keeps its trigger (50 %)")
    offerOk(buf, 11, 20)
    for (let i = 0; i < 5; i++) buf.take()
    for (let i = 0; i < 8; i++) buf.take()
    assert.strictEqual(fired, 1, "8 of the new segment taken: below 90 %")
    buf.take()
    assert.strictEqual(fired, 2)
    assert.throws(() => buf.setPreloadThreshold(1.5), RangeError)
  })
})
