import { assert, describe, it } from "@effect/vitest"
import { Errors } from "@idgen/core"

describe("Errors", () => {
  it("every error knows its contract code and HTTP status", () => {
    const codes = Errors.errorClasses.map((c) => c.code)
    assert.strictEqual(new Set(codes).size, 15)
    assert.strictEqual(Errors.codeOf(new Errors.SegmentExhausted({ message: "x" })), "IDGEN-SEG-1001")
    assert.strictEqual(Errors.statusOf(new Errors.NoAvailableWorkerId({ message: "x" })), 503)
    assert.strictEqual(Errors.statusOf(new Errors.Forbidden({ message: "x" })), 403)
  })

  it("every error instance carries its class's code, without it becoming a field", () => {
    for (const ErrorClass of Errors.errorClasses) {
      const error = new ErrorClass({ message: "x", retryAfterSeconds: 1 })
      assert.strictEqual(error.code, ErrorClass.code)
      assert.notProperty(JSON.parse(JSON.stringify(error)), "code")
    }
  })
})

describe("Errors.traitsOf", () => {
  const tagsWhere = (trait: (traits: Errors.Traits) => boolean) =>
    Errors.errorClasses.filter((c) => trait(Errors.traitsByTag[c.name as Errors.IdgenError["_tag"]])).map((c) => c.name)

  it("the generator's failures fall back, the request's own do not", () => {
    assert.deepStrictEqual(tagsWhere((t) => t.fallsBack), [
      "SegmentExhausted",
      "SegmentAllocateFailed",
      "DatabaseUnavailable",
      "ClockBackward",
      "SequenceOverflow",
      "NoAvailableWorkerId",
      "UuidGenerateFailed"
    ])
  })

  it("the store's failures count against every algorithm's health, the generator's own against theirs only", () => {
    assert.deepStrictEqual(tagsWhere((t) => t.health === "store"), ["SegmentAllocateFailed", "DatabaseUnavailable"])
    assert.deepStrictEqual(tagsWhere((t) => t.health === "generator"), ["ClockBackward", "NoAvailableWorkerId", "UuidGenerateFailed"])
  })

  it("only 'unavailable' answers are retried on another server", () => {
    assert.deepStrictEqual(tagsWhere((t) => t.retryElsewhere), ["ServiceUnavailable", "DatabaseUnavailable", "NoAvailableWorkerId"])
  })

  it("a 429 announces whole seconds, at least one; other errors none", () => {
    assert.strictEqual(Errors.retryAfterOf(new Errors.RateLimitExceeded({ message: "x", retryAfterSeconds: 0.001 })), 1)
    assert.strictEqual(Errors.retryAfterOf(new Errors.RateLimitExceeded({ message: "x", retryAfterSeconds: 2.5 })), 3)
    assert.strictEqual(Errors.retryAfterOf(new Errors.ServiceUnavailable({ message: "x" })), undefined)
  })
})
