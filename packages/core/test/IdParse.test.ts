import { assert, describe, it } from "@effect/vitest"
import { Errors, IdParse, Snowflake, UuidV4, UuidV7 } from "@idgen/core"
import { Result, Schema } from "effect"
import { getRandomValues } from "node:crypto"

const ok = (r: Result.Result<IdParse.IdInfo, Errors.InvalidRequest>) => {
  const info = Result.getOrThrow(r)
  assert.isTrue(Schema.is(IdParse.IdInfo)(info), "matches the response schema")
  // JSON-ready: survives a round trip unchanged.
  assert.deepStrictEqual(JSON.parse(JSON.stringify(info)), info)
  return info
}
/** A 400 IDGEN-COMMON-0001; returns its message. */
const invalid = (r: Result.Result<unknown, Errors.InvalidRequest>, why: string): string => {
  if (Result.isSuccess(r)) return assert.fail(`${why}: parsed as ${JSON.stringify(r.success)}`)
  assert.strictEqual(Errors.codeOf(r.failure), "IDGEN-COMMON-0001")
  return r.failure.message
}
const random = (b: Uint8Array) => void getRandomValues(b)

describe("IdParse", () => {
  it("decodes a numeric id without context as snowflake", () => {
    const ts = Date.UTC(2026, 10, 25, 12, 0, 0, 123)
    const id = Snowflake.compose({ timestampMs: ts, datacenterId: 5, workerId: 201, sequence: 1000 }).toString()
    assert.deepStrictEqual(ok(IdParse.parseId(id)), {
      id,
      algorithm: "snowflake",
      timestamp: "2026-11-25T12:00:00.123Z",
      timestamp_ms: ts,
      datacenter_id: 5,
      worker_id: 201,
      sequence: 1000
    })
  })

  it("uses the configured epoch", () => {
    const epochMs = Date.UTC(2020, 0, 1)
    const ts = Date.UTC(2025, 5, 1)
    const id = Snowflake.compose({ timestampMs: ts, datacenterId: 0, workerId: 1, sequence: 2 }, epochMs).toString()
    const info = ok(IdParse.parseId(id, { epochMs }))
    assert.strictEqual(info.algorithm === "snowflake" && info.timestamp_ms, ts)
  })

  it("decodes UUIDs: v7 with its timestamp, v4 without", () => {
    const now = Date.UTC(2026, 0, 2, 3, 4, 5, 6)
    const v7 = UuidV7.make(random).next(now)
    assert.deepStrictEqual(ok(IdParse.parseId(v7)), { id: v7, algorithm: "uuid_v7", version: 7, timestamp: "2026-01-02T03:04:05.006Z" })
    const v4 = UuidV4.make(random).next()
    const info = ok(IdParse.parseId(v4))
    assert.deepStrictEqual(info, { id: v4, algorithm: "uuid_v4", version: 4 })
    assert.isFalse("timestamp" in info)
    // A biz_tag's chain decides which versions are its IDs.
    assert.strictEqual(ok(IdParse.parseId(v4, { algorithm: "segment", fallback: ["uuid_v4"] })).algorithm, "uuid_v4")
    assert.strictEqual(ok(IdParse.parseId(v7, { algorithm: "uuid_v7" })).algorithm, "uuid_v7")
    invalid(IdParse.parseId("c232ab00-9414-11ec-b3c8-9f6bdeced846"), "UUID v1 is not ours")
  })

  it("decodes segment ids to their datacenter when the biz_tag is segment", () => {
    const seg = { algorithm: "segment" as const }
    assert.deepStrictEqual(ok(IdParse.parseId("1", seg)), { id: "1", algorithm: "segment", datacenter_id: 0 })
    // The default R is 2^50 - 1 = 1125899906842623.
    assert.deepStrictEqual(ok(IdParse.parseId("1125899906842623", seg)), { id: "1125899906842623", algorithm: "segment", datacenter_id: 0 })
    assert.deepStrictEqual(ok(IdParse.parseId("1125899906842624", seg)), { id: "1125899906842624", algorithm: "segment", datacenter_id: 1 })
    assert.deepStrictEqual(ok(IdParse.parseId("9007199254740984", seg)), { id: "9007199254740984", algorithm: "segment", datacenter_id: 7 })
    const old = { ...seg, rangeSize: 10_000_000_000 }
    assert.deepStrictEqual(ok(IdParse.parseId("10000000001", old)), { id: "10000000001", algorithm: "segment", datacenter_id: 1 })
    assert.deepStrictEqual(ok(IdParse.parseId("80000000000", old)), { id: "80000000000", algorithm: "segment", datacenter_id: 7 })
    assert.deepStrictEqual(ok(IdParse.parseId("250", { ...seg, rangeSize: 100 })), { id: "250", algorithm: "segment", datacenter_id: 2 })
    // Above every range: it came from the snowflake fallback.
    const sf = Snowflake.compose({ timestampMs: Date.UTC(2026, 0, 1), datacenterId: 1, workerId: 2, sequence: 3 }).toString()
    assert.strictEqual(ok(IdParse.parseId(sf, { ...seg, fallback: ["snowflake"] })).algorithm, "snowflake")
    invalid(IdParse.parseId("007", seg), "leading zeros")
  })

  it("with a biz_tag, an id none of its chain could have issued is 400 saying what each issues", () => {
    const seg = { algorithm: "segment" as const }
    const segment = "not an id of this biz_tag: it is not a segment id (a decimal from 1 to 9007199254740984)"
    const sf = Snowflake.compose({ timestampMs: Date.UTC(2026, 0, 1), datacenterId: 1, workerId: 2, sequence: 3 }).toString()
    const v4 = UuidV4.make(random).next()
    const v7 = UuidV7.make(random).next(Date.UTC(2026, 0, 1))
    for (const id of ["0", "9007199254740985", sf, v4, v7, "abc"]) {
      assert.strictEqual(invalid(IdParse.parseId(id, seg), id), segment)
    }
    assert.strictEqual(
      invalid(IdParse.parseId(v4, { algorithm: "snowflake", fallback: ["uuid_v7"] }), "v4 for snowflake, uuid_v7"),
      "not an id of this biz_tag: it is not a snowflake id (a decimal of at most 63 bits); it is not a UUID of version 7"
    )
    assert.strictEqual(
      invalid(IdParse.parseId("9223372036854775808", { algorithm: "snowflake" }), "2^63"),
      "not an id of this biz_tag: it is not a snowflake id (a decimal of at most 63 bits)"
    )
    invalid(IdParse.parseId(v7, { algorithm: "uuid_v4" }), "v7 for uuid_v4")
    invalid(IdParse.parseId("42", { algorithm: "uuid_v7", fallback: ["uuid_v4"] }), "a decimal for a UUID tag")
    // Each algorithm of the chain is one reading: 0 is a snowflake id, not a segment one.
    assert.strictEqual(ok(IdParse.parseId("0", { ...seg, fallback: ["snowflake"] })).algorithm, "snowflake")
  })

  it("reads an id of a formatted biz_tag against its template: the datacenter of its counter, or 400 when it cannot be one", () => {
    const wb = { algorithm: "formatted" as const, formatTemplate: "WB{YYYYMMDD}{SEQ:8}" }
    assert.deepStrictEqual(ok(IdParse.parseId("WB2026112500000042", wb)), {
      id: "WB2026112500000042",
      algorithm: "formatted",
      datacenter_id: 0
    })
    // Longer than its width: printed in full (no leading zero).
    assert.deepStrictEqual(ok(IdParse.parseId("WB20261125123456789", { ...wb, rangeSize: 100_000_000 })), {
      id: "WB20261125123456789",
      algorithm: "formatted",
      datacenter_id: 1
    })
    assert.deepStrictEqual(ok(IdParse.parseId("WB2026112500000150", { ...wb, rangeSize: 100 })), {
      id: "WB2026112500000150",
      algorithm: "formatted",
      datacenter_id: 1
    })
    for (const bad of ["XYZ", "WB2026112500042", "XB2026112500000042", "WB2026132500000042", "WB20261125000000420", "WB20261125x0000042"]) {
      invalid(IdParse.parseId(bad, wb), bad)
    }
    // A counter beyond the eight datacenter ranges was never issued.
    invalid(IdParse.parseId("WB2026112500000801", { ...wb, rangeSize: 100 }), "counter above 8R")
    // Every counter part reads the same value; {DC} one digit 0-7, {WORKER} three, 000-255.
    const twice = { algorithm: "formatted" as const, formatTemplate: "{SEQ}-{DC}{WORKER}-{SEQ:4}" }
    assert.strictEqual(ok(IdParse.parseId("42-3255-0042", twice)).algorithm, "formatted")
    for (const bad of ["42-3255-0043", "42-8255-0042", "42-3256-0042", "042-3255-0042"]) invalid(IdParse.parseId(bad, twice), bad)
    // UUID-shaped but not a UUID (variant 0): a formatted id of a tag whose template renders it, not without it.
    const lookalike = "20261125-0000-0000-0000-000000000042"
    const dashed = { algorithm: "formatted" as const, formatTemplate: "{YYYYMMDD}-0000-0000-0000-{SEQ:12}" }
    assert.strictEqual(ok(IdParse.parseId(lookalike, dashed)).algorithm, "formatted")
    invalid(IdParse.parseId(lookalike), "UUID-shaped without context")
  })

  it("reads the ids of a formatted biz_tag's fallback chain as theirs, and a formatted fallback's by its template", () => {
    const sf = Snowflake.compose({ timestampMs: Date.UTC(2026, 0, 1), datacenterId: 1, workerId: 2, sequence: 3 }).toString()
    const withSnowflake = { algorithm: "formatted" as const, fallback: ["snowflake" as const], formatTemplate: "WB{SEQ:8}" }
    assert.strictEqual(ok(IdParse.parseId(sf, withSnowflake)).algorithm, "snowflake")
    invalid(IdParse.parseId(sf, { ...withSnowflake, fallback: [] }), "a decimal is not an id of a formatted-only tag")
    const segmentFirst = { algorithm: "segment" as const, fallback: ["formatted" as const], formatTemplate: "WB{SEQ:8}" }
    assert.strictEqual(ok(IdParse.parseId("WB00000042", segmentFirst)).algorithm, "formatted")
    assert.strictEqual(ok(IdParse.parseId("42", segmentFirst)).algorithm, "segment")
    invalid(IdParse.parseId("WC00000042", segmentFirst), "not its template")
  })

  it("rejects what is not an id", () => {
    for (const bad of ["", "abc", "-1", "+5", "01", "1.5", "1e9", " 12", "9223372036854775808", "x".repeat(600), "WB2026112500000042"]) {
      invalid(IdParse.parseId(bad), JSON.stringify(bad.slice(0, 20)))
    }
    // Any number above 2^63 - 1 says so, however many digits it has.
    for (const big of ["9223372036854775808", "18446744073709551615", "1".repeat(40)]) {
      assert.strictEqual(invalid(IdParse.parseId(big), big), "id exceeds 63 bits")
    }
  })
})
