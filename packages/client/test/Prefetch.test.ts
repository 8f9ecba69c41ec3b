/**
 * The prefetch buffer against a fake server whose batches arrive when the test says so:
 * refills start before the stock runs dry, coalesce (one request per missing batch, at
 * most `concurrency` in flight), serve waiters first, and report failures to waiters.
 */
import { assert, describe, it } from "@effect/vitest"
import { PrefetchBuffer, prefetchOptions } from "../src/Prefetch.ts"

/** A fetch that records requests and completes them on demand with consecutive IDs. */
const fakeServer = () => {
  let next = 1
  const pending: Array<{ size: number; done: (ids: ReadonlyArray<string> | undefined, error?: string) => void }> = []
  return {
    pending,
    fetch: (size: number, done: (ids: ReadonlyArray<string> | undefined, error?: string) => void) => {
      pending.push({ size, done })
    },
    /** Answers the oldest request. */
    answer: () => {
      const request = pending.shift()!
      const ids = Array.from({ length: request.size }, () => String(next++))
      request.done(ids)
    },
    fail: (error: string) => pending.shift()!.done(undefined, error)
  }
}

describe("PrefetchBuffer", () => {
  it("fills to the high watermark one request at a time, and refills before running dry", () => {
    const server = fakeServer()
    const buffer = new PrefetchBuffer(prefetchOptions({ batchSize: 100, lowWatermark: 150, highWatermark: 300 }), server.fetch)
    assert.isUndefined(buffer.take(), "nothing before the first batch")
    assert.strictEqual(server.pending.length, 1, "single-flight")
    server.answer()
    assert.strictEqual(server.pending.length, 1, "the next batch is requested as the first arrives")
    server.answer()
    server.answer()
    assert.strictEqual(server.pending.length, 0, "stops at the high watermark")
    assert.strictEqual(buffer.stats().buffered, 300)

    // A steady consumer: the refill is asked for while IDs are still buffered, and arrives in time.
    const taken: Array<string> = []
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 50; i++) taken.push(buffer.take()!)
      assert.isAbove(buffer.stats().buffered, 0)
      while (server.pending.length > 0) server.answer()
    }
    assert.strictEqual(buffer.stats().dryTakes, 1, "only the very first take found the stock empty")
    assert.deepStrictEqual(taken, Array.from({ length: 1000 }, (_, i) => String(i + 1)), "in issue order, no gaps, no repeats")
  })

  it("many takes while a refill is in flight ask for it once", () => {
    const server = fakeServer()
    const buffer = new PrefetchBuffer(prefetchOptions({ batchSize: 10, lowWatermark: 5, highWatermark: 15 }), server.fetch)
    for (let i = 0; i < 100; i++) buffer.take()
    assert.strictEqual(server.pending.length, 1)
  })

  it("with concurrency 3, up to three batches are in flight", () => {
    const server = fakeServer()
    const buffer = new PrefetchBuffer(
      prefetchOptions({ batchSize: 10, lowWatermark: 10, highWatermark: 100, concurrency: 3 }),
      server.fetch
    )
    buffer.refill()
    assert.strictEqual(server.pending.length, 3)
    server.answer()
    assert.strictEqual(server.pending.length, 3)
  })

  it("waiters are served first from the next batch, in order; a failed refill fails them", () => {
    const server = fakeServer()
    const buffer = new PrefetchBuffer(prefetchOptions({ batchSize: 2, lowWatermark: 1, highWatermark: 3 }), server.fetch)
    const got: Array<string> = []
    buffer.wait((id, error) => got.push(id ?? `error ${error}`))
    buffer.wait((id, error) => got.push(id ?? `error ${error}`))
    buffer.wait((id, error) => got.push(id ?? `error ${error}`))
    server.answer()
    assert.deepStrictEqual(got, ["1", "2"])
    assert.strictEqual(server.pending.length, 1, "the third waiter keeps a refill going")
    server.fail("down")
    assert.deepStrictEqual(got, ["1", "2", "error down"])
    assert.strictEqual(buffer.stats().failedRefills, 1)
    // The next take tries again.
    assert.isUndefined(buffer.take())
    assert.strictEqual(server.pending.length, 1)
  })

  it("a withdrawn waiter is not served", () => {
    const server = fakeServer()
    const buffer = new PrefetchBuffer(prefetchOptions({ batchSize: 1, lowWatermark: 1, highWatermark: 2 }), server.fetch)
    const got: Array<string | undefined> = []
    const cancel = buffer.wait((id) => got.push(id))
    cancel()
    server.answer()
    assert.deepStrictEqual(got, [])
    assert.strictEqual(buffer.take(), "1")
  })
})
