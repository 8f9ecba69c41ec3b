import { assert, describe, it } from "@effect/vitest"
import { DatacenterRange, Errors } from "@idgen/core"
import { Result, Schema } from "effect"

const ok = <A>(r: Result.Result<A, Errors.InvalidRequest>): A => Result.getOrThrow(r)
const fails = (r: Result.Result<unknown, Errors.InvalidRequest>, why: string) => {
  assert.isTrue(Result.isFailure(r), why)
  if (Result.isFailure(r)) assert.strictEqual(Errors.codeOf(r.failure), "IDGEN-COMMON-0001")
}

describe("segment DatacenterRange", () => {
  it("datacenter d owns [d*R + 1, (d+1)*R]; the default R is 2^50 - 1, datacenter 7 ending at 2^53 - 8", () => {
    const R = 2 ** 50 - 1
    assert.strictEqual(DatacenterRange.DEFAULT_RANGE_SIZE, R)
    assert.deepStrictEqual(ok(DatacenterRange.rangeOf(0)), { start: 1, end: R })
    assert.deepStrictEqual(ok(DatacenterRange.rangeOf(3)), { start: 3 * R + 1, end: 4 * R })
    assert.deepStrictEqual(ok(DatacenterRange.rangeOf(7)), { start: 7 * R + 1, end: 2 ** 53 - 8 })
    assert.deepStrictEqual(ok(DatacenterRange.rangeOf(2, 100)), { start: 201, end: 300 })
    assert.deepStrictEqual(ok(DatacenterRange.rangeOf(1, 10_000_000_000)), { start: 10_000_000_001, end: 20_000_000_000 })
  })

  it("rejects datacenter ids outside 0–7", () => {
    for (const dc of [-1, 8, 1.5, Number.NaN]) fails(DatacenterRange.rangeOf(dc), `dc ${dc}`)
  })

  it("rejects an R whose eight ranges would leave the safe integers", () => {
    const max = DatacenterRange.MAX_RANGE_SIZE
    assert.isTrue(8 * max <= Number.MAX_SAFE_INTEGER)
    assert.deepStrictEqual(ok(DatacenterRange.rangeOf(7, max)).end, 8 * max)
    fails(DatacenterRange.rangeOf(0, max + 1), "R too large")
    fails(DatacenterRange.rangeOf(0, 0), "R = 0")
    fails(DatacenterRange.rangeOf(0, 2.5), "fractional R")
    fails(DatacenterRange.validateRangeSize(Number.POSITIVE_INFINITY), "infinite R")
  })

  it.prop("ranges are disjoint, adjacent, and datacenterOf inverts them", {
    r: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: DatacenterRange.MAX_RANGE_SIZE })),
    dc: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 6 })),
    offset: Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1, exclusiveMaximum: true }))
  }, ({ dc, offset, r }) => {
    const a = ok(DatacenterRange.rangeOf(dc, r))
    const b = ok(DatacenterRange.rangeOf(dc + 1, r))
    assert.strictEqual(b.start, a.end + 1)
    assert.strictEqual(a.end - a.start + 1, r)
    const inside = a.start + Math.floor(offset * r)
    assert.isTrue(DatacenterRange.contains(a, inside))
    assert.isFalse(DatacenterRange.contains(b, inside))
    assert.strictEqual(DatacenterRange.datacenterOf(inside, r), dc)
    assert.strictEqual(DatacenterRange.datacenterOf(a.start, r), dc)
    assert.strictEqual(DatacenterRange.datacenterOf(a.end, r), dc)
  })

  it("datacenterOf is undefined outside every range", () => {
    assert.strictEqual(DatacenterRange.datacenterOf(0), undefined)
    assert.strictEqual(DatacenterRange.datacenterOf(-5), undefined)
    assert.strictEqual(DatacenterRange.datacenterOf(2 ** 53 - 7), undefined)
    assert.strictEqual(DatacenterRange.datacenterOf(80_000_000_001, 10_000_000_000), undefined)
    assert.strictEqual(DatacenterRange.datacenterOf(1.5), undefined)
  })
})
