import { assert, describe, it } from "@effect/vitest"
import { Errors, Snowflake } from "@idgen/core"
import { Result, Schema } from "effect"

const E = Snowflake.DEFAULT_EPOCH_MS

const int = (minimum: number, maximum: number) => Schema.Int.check(Schema.isBetween({ minimum, maximum }))

// Schemas double as property-test generators for `it.prop`.
const partsArb = Schema.Struct({
  timestampMs: int(E, E + Snowflake.MAX_TIMESTAMP),
  datacenterId: int(0, Snowflake.MAX_DATACENTER_ID),
  workerId: int(0, Snowflake.MAX_WORKER_ID),
  sequence: int(0, Snowflake.MAX_SEQUENCE)
})

const lexCompare = (a: Snowflake.Parts, b: Snowflake.Parts): number =>
  Math.sign(a.timestampMs - b.timestampMs) || Math.sign(a.datacenterId - b.datacenterId) ||
  Math.sign(a.workerId - b.workerId) || Math.sign(a.sequence - b.sequence)

describe("snowflake Layout", () => {
  it("has the contract's layout constants", () => {
    assert.strictEqual(Snowflake.TIMESTAMP_BITS + Snowflake.DATACENTER_BITS + Snowflake.WORKER_BITS + Snowflake.SEQUENCE_BITS, 63)
    assert.strictEqual(Snowflake.SEQUENCES_PER_MS, 1024)
    assert.strictEqual(Snowflake.MAX_WORKER_ID, 255)
    assert.strictEqual(Snowflake.MAX_DATACENTER_ID, 7)
    assert.strictEqual(new Date(Snowflake.DEFAULT_EPOCH_MS).toISOString(), "2024-01-01T00:00:00.000Z")
    assert.strictEqual(Snowflake.MAX_ID.toString(), "9223372036854775807")
  })

  it("composes a known vector", () => {
    const id = Snowflake.compose({ timestampMs: E + 1, datacenterId: 1, workerId: 2, sequence: 3 })
    assert.strictEqual(id, (1n << 21n) + (1n << 18n) + (2n << 10n) + 3n)
    const max = Snowflake.compose({ timestampMs: E + Snowflake.MAX_TIMESTAMP, datacenterId: 7, workerId: 255, sequence: 1023 })
    assert.strictEqual(max, Snowflake.MAX_ID)
  })

  it.prop("compose/decompose round trip (any epoch)", {
    parts: partsArb,
    epoch: int(0, 4_000_000_000_000)
  }, ({ epoch, parts }) => {
    const shifted = { ...parts, timestampMs: parts.timestampMs - E + epoch }
    const id = Snowflake.compose(shifted, epoch)
    assert.isTrue(id >= 0n && id <= Snowflake.MAX_ID)
    assert.deepStrictEqual(Snowflake.decompose(id, epoch), shifted)
  })

  it.prop("numeric order of IDs is the lexicographic order of (timestamp, dc, worker, sequence)", {
    a: partsArb,
    b: partsArb
  }, ({ a, b }) => {
    const ia = Snowflake.compose(a)
    const ib = Snowflake.compose(b)
    assert.strictEqual(ia < ib ? -1 : ia > ib ? 1 : 0, lexCompare(a, b))
  })

  it.prop("wire form round trip, and the fast composer agrees with compose", { parts: partsArb }, ({ parts }) => {
    const id = Snowflake.compose(parts)
    const text = Snowflake.toString(id)
    assert.strictEqual(Result.getOrThrow(Snowflake.parse(text)), id)
    const composer = new Snowflake.DecimalComposer()
    const low21 = Snowflake.nodeBits(parts.datacenterId, parts.workerId) | parts.sequence
    assert.strictEqual(composer.toDecimal(parts.timestampMs, low21), text)
  })

  it("the fast composer stays right across millisecond changes", () => {
    const composer = new Snowflake.DecimalComposer(E)
    const node = Snowflake.nodeBits(5, 200)
    for (let ms = E + 1_700_000_000; ms < E + 1_700_000_050; ms++) {
      for (const seq of [0, 1, 511, 1023]) {
        const expected = Snowflake.compose({ timestampMs: ms, datacenterId: 5, workerId: 200, sequence: seq }).toString()
        assert.strictEqual(composer.toDecimal(ms, node | seq), expected)
      }
    }
    assert.throws(() => composer.toDecimal(E - 1, 0), RangeError)
    assert.throws(() => composer.toDecimal(E + Snowflake.MAX_TIMESTAMP + 1, 0), RangeError)
  })

  it("parse accepts exactly the canonical decimal forms of 0 … 2^63-1", () => {
    assert.strictEqual(Result.getOrThrow(Snowflake.parse("0")), 0n)
    assert.strictEqual(Result.getOrThrow(Snowflake.parse("9223372036854775807")), Snowflake.MAX_ID)
    for (const bad of ["", "-1", "+1", "01", "00", " 1", "1 ", "1.0", "1e3", "0x10", "9223372036854775808", "99999999999999999999", "١٢"]) {
      const r = Snowflake.parse(bad)
      assert.isTrue(Result.isFailure(r), `accepted ${JSON.stringify(bad)}`)
      if (Result.isFailure(r)) assert.instanceOf(r.failure, Errors.InvalidRequest)
    }
  })

  it("compose rejects parts outside their fields", () => {
    const ok = { timestampMs: E, datacenterId: 0, workerId: 0, sequence: 0 }
    assert.throws(() => Snowflake.compose({ ...ok, timestampMs: E - 1 }), RangeError)
    assert.throws(() => Snowflake.compose({ ...ok, timestampMs: E + 2 ** 42 }), RangeError)
    assert.throws(() => Snowflake.compose({ ...ok, datacenterId: 8 }), RangeError)
    assert.throws(() => Snowflake.compose({ ...ok, workerId: 256 }), RangeError)
    assert.throws(() => Snowflake.compose({ ...ok, sequence: 1024 }), RangeError)
    assert.throws(() => Snowflake.compose({ ...ok, sequence: 1.5 }), RangeError)
    assert.throws(() => Snowflake.decompose(-1n), RangeError)
    assert.throws(() => new Snowflake.DecimalComposer(-5), RangeError)
  })

  it("reports when the 42 bits run out", () => {
    assert.strictEqual(Snowflake.exhaustionDate().toISOString(), "2163-05-15T07:35:11.104Z")
    assert.strictEqual(Snowflake.exhaustionDate(0).getTime(), 2 ** 42)
  })

  it("validates epochs and ids with schemas", () => {
    assert.isTrue(Schema.is(Snowflake.EpochMs)(E))
    assert.isFalse(Schema.is(Snowflake.EpochMs)(-1))
    assert.isFalse(Schema.is(Snowflake.EpochMs)(1.5))
    assert.isTrue(Schema.is(Snowflake.WorkerId)(255))
    assert.isFalse(Schema.is(Snowflake.WorkerId)(256))
  })
})
