import { assert, describe, it } from "@effect/vitest"
import { TokenBucket } from "@idgen/core"
import fc from "fast-check"

const limit: TokenBucket.Limit = { perSecond: 10, burst: 5 }

describe("TokenBucket", () => {
  it("allows a burst, then refuses with the time until the next token", () => {
    let bucket = TokenBucket.full(limit, 0)
    for (let i = 0; i < 5; i++) {
      const d = TokenBucket.take(limit, bucket, 0)
      assert.isTrue(d.allowed)
      bucket = d.bucket
    }
    const refused = TokenBucket.take(limit, bucket, 0)
    assert.isFalse(refused.allowed)
    assert.closeTo(refused.retryAfterSeconds, 0.1, 1e-9)
    assert.isTrue(TokenBucket.take(limit, refused.bucket, 100).allowed)
  })

  it("answers the wait in whole milliseconds, without float noise", () => {
    const odd: TokenBucket.Limit = { perSecond: 7, burst: 1 }
    fc.assert(fc.property(fc.array(fc.nat(300), { minLength: 1, maxLength: 50 }), fc.integer({ min: 1, max: 3 }), (delays, cost) => {
      let now = 0
      let bucket = TokenBucket.take(odd, TokenBucket.full(odd, now), now).bucket
      for (const delay of delays) {
        now += delay
        const d = TokenBucket.take(odd, bucket, now, cost)
        bucket = d.bucket
        if (!d.allowed) assert.strictEqual(d.retryAfterSeconds, Number(d.retryAfterSeconds.toFixed(3)), String(d.retryAfterSeconds))
      }
    }))
  })

  it("never admits more than burst + rate × elapsed", () => {
    fc.assert(fc.property(fc.array(fc.nat(50), { maxLength: 300 }), (delays) => {
      let now = 0
      let bucket = TokenBucket.full(limit, now)
      let admitted = 0
      for (const delay of delays) {
        now += delay
        const d = TokenBucket.take(limit, bucket, now)
        bucket = d.bucket
        if (d.allowed) admitted++
        else assert.isAbove(d.retryAfterSeconds, 0)
      }
      assert.isAtMost(admitted, limit.burst + (limit.perSecond * now) / 1000 + 1e-9)
    }))
  })
})
