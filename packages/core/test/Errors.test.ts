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
