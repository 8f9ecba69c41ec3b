import { assert, describe, it } from "@effect/vitest"
import { SweepCursor } from "@idgen/server/segment/SweepCursor"

const keys = (batch: ReadonlyArray<[number, string]>) => batch.map(([k]) => k)
const mapOf = (n: number) => new Map(Array.from({ length: n }, (_, i) => [i, `v${i}`] as [number, string]))

describe("SweepCursor", () => {
  it("hands out at most a batch per call, resuming where it stopped, and starts a fresh pass after the end", () => {
    const cursor = new SweepCursor(mapOf(450), 200)
    const sizes = Array.from({ length: 6 }, () => cursor.next().length)
    assert.deepStrictEqual(sizes, [200, 200, 50, 200, 200, 50])
  })

  it("one pass sees every entry once", () => {
    const cursor = new SweepCursor(mapOf(450), 200)
    const seen = [...keys(cursor.next()), ...keys(cursor.next()), ...keys(cursor.next())]
    assert.deepStrictEqual(seen, Array.from({ length: 450 }, (_, i) => i))
  })

  it("entries deleted mid-pass are skipped, entries added mid-pass are seen in it", () => {
    const map = mapOf(5)
    const cursor = new SweepCursor(map, 2)
    assert.deepStrictEqual(keys(cursor.next()), [0, 1])
    map.delete(2)
    map.set(9, "v9")
    assert.deepStrictEqual(keys(cursor.next()), [3, 4])
    assert.deepStrictEqual(keys(cursor.next()), [9])
    assert.deepStrictEqual(keys(cursor.next()), [0, 1])
  })

  it("an empty map gives empty batches", () => {
    const cursor = new SweepCursor(new Map<number, string>(), 10)
    assert.deepStrictEqual(cursor.next(), [])
    assert.deepStrictEqual(cursor.next(), [])
  })
})
