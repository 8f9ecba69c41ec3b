/**
 * The Redis pool's fence on real PostgreSQL: a claim succeeds only while the fence is below
 * the segment's start, so of concurrent claims of one segment exactly one wins, a segment
 * claimed before (or one below a later claim) is refused with the current fence, and claims
 * that race in any order over overlapping, replayed segments never win two overlapping ones.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { PoolFenceRepo } from "@idgen/server/storage/PoolFenceRepo"
import type { AllocatedSegment } from "@idgen/server/storage/Records"
import { bizTag, storageOnFreshDatabase } from "./fixtures.ts"

const claimOf = (bizTagId: string, datacenterId: number) => (segment: AllocatedSegment) =>
  Effect.flatMap(PoolFenceRepo, (fence) => fence.claim({ bizTagId, datacenterId, segment }))

layer(storageOnFreshDatabase(), { timeout: 60_000, excludeTestServices: true })("pool fence", (it) => {
  it.effect("16 concurrent claims of one segment: exactly one wins, the others see the fence at its end", () =>
    Effect.gen(function*() {
      const claim = claimOf(yield* bizTag("fence", "g", "one"), 0)
      const results = yield* Effect.forEach(Array.from({ length: 16 }), () => claim({ start: 1, end: 1000 }), {
        concurrency: "unbounded"
      })
      assert.strictEqual(results.filter((r) => r.claimed).length, 1)
      assert.isTrue(results.every((r) => r.consumedTo === 1000))
    }))

  it.effect("in order every segment is claimed; a replayed or an earlier segment is refused and the fence stays", () =>
    Effect.gen(function*() {
      const claim = claimOf(yield* bizTag("fence", "g", "order"), 0)
      for (const start of [1, 1001, 2001]) {
        assert.deepStrictEqual(yield* claim({ start, end: start + 999 }), { claimed: true, consumedTo: start + 999 })
      }
      assert.deepStrictEqual(yield* claim({ start: 1001, end: 2000 }), { claimed: false, consumedTo: 3000 })
      assert.deepStrictEqual(yield* claim({ start: 2500, end: 2600 }), { claimed: false, consumedTo: 3000 })
      assert.deepStrictEqual(yield* claim({ start: 3001, end: 4000 }), { claimed: true, consumedTo: 4000 })
    }))

  it.effect("one fence per (biz_tag, datacenter): the same numbers claim independently elsewhere", () =>
    Effect.gen(function*() {
      const [a, b] = [yield* bizTag("fence", "g", "a"), yield* bizTag("fence", "g", "b")]
      const segment = { start: 1, end: 1000 }
      const results = yield* Effect.all([claimOf(a, 0)(segment), claimOf(a, 1)(segment), claimOf(b, 0)(segment)])
      assert.isTrue(results.every((r) => r.claimed))
    }))

  it.effect("8 claimers racing over shuffled, replayed, overlapping segments: the won ones never overlap", () =>
    Effect.gen(function*() {
      const claim = claimOf(yield* bizTag("fence", "g", "race"), 0)
      // 40 pieces of 100 numbers, and 10 pieces of 400 overlapping them (a buggy source).
      const pieces = [
        ...Array.from({ length: 40 }, (_, i) => ({ start: i * 100 + 1, end: i * 100 + 100 })),
        ...Array.from({ length: 10 }, (_, i) => ({ start: i * 400 + 51, end: i * 400 + 450 }))
      ]
      const won: Array<AllocatedSegment> = []
      yield* Effect.forEach(Array.from({ length: 8 }, (_, i) => i), (claimer) =>
        Effect.forEach(
          // Each claimer replays every piece, in its own order: mostly increasing, with swaps.
          pieces.map((p, i) => ({ p, key: p.start + ((i * 7919 + claimer * 104729) % 1000) }))
            .sort((x, y) => x.key - y.key)
            .map(({ p }) => p),
          (segment) => Effect.map(claim(segment), (r) => r.claimed && won.push(segment)),
          { discard: true }
        ), { concurrency: "unbounded", discard: true })
      const sorted = won.sort((x, y) => x.start - y.start)
      for (let i = 1; i < sorted.length; i++) {
        assert.isAbove(sorted[i]!.start, sorted[i - 1]!.end, `claimed twice: ${JSON.stringify(sorted.slice(i - 1, i + 1))}`)
      }
      assert.isAbove(won.length, 10, `only ${won.length} pieces claimed: the test proves little`)
    }))
})
