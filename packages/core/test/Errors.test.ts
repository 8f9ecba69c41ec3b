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
})
