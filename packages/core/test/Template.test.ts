import { assert, describe, it } from "@effect/vitest"
import { Errors, Template } from "@idgen/core"
import { Result } from "effect"

const compiled = (t: string) => Result.getOrThrow(Template.compile(t))
const at = Date.UTC(2026, 10, 25, 7, 5, 9) // 2026-11-25T07:05:09Z
const ctx = { seq: 42, nowMs: at, datacenterId: 3, workerId: 17 }

const rejects = (t: string) => {
  const r = Template.compile(t)
  assert.isTrue(Result.isFailure(r), `accepted ${JSON.stringify(t)}`)
  if (Result.isFailure(r)) {
    assert.instanceOf(r.failure, Errors.InvalidRequest)
    assert.strictEqual(Errors.codeOf(r.failure), "IDGEN-COMMON-0001")
    // The message names the template it refuses.
    assert.include(r.failure.message, JSON.stringify(t))
  }
}

describe("formatted Template", () => {
  it("renders the contract's example", () => {
    assert.strictEqual(Template.render(compiled("WB{YYYYMMDD}{SEQ:8}"), ctx), "WB2026112500000042")
  })

  it("renders every token in UTC", () => {
    const t = compiled("{YYYY}-{MM}-{DD}T{HH}:{mm}:{ss}/{DC}/{WORKER}/{SEQ}")
    assert.strictEqual(Template.render(t, ctx), "2026-11-25T07:05:09/3/017/42")
    // One ms before midnight UTC stays on the 24th, whatever the machine's zone.
    const late = Template.render(compiled("{YYYYMMDD}{HH}{SEQ:1}"), { ...ctx, nowMs: Date.UTC(2026, 10, 24, 23, 59, 59, 999) })
    assert.strictEqual(late, "202611242342")
  })

  it("renders {WORKER} in three digits and {DC} in one, whatever the value", () => {
    const t = compiled("{DC}{WORKER}.{SEQ}")
    assert.deepStrictEqual(
      [[0, 0], [7, 5], [1, 42], [2, 255]].map(([datacenterId, workerId]) => Template.render(t, { ...ctx, datacenterId, workerId })),
      ["0000.42", "7005.42", "1042.42", "2255.42"]
    )
    assert.isTrue(compiled("W{WORKER}{SEQ}").usesWorker)
    assert.isFalse(compiled("W{DC}{SEQ}").usesWorker)
  })

  it("tells templates that render plain numbers", () => {
    assert.isTrue(Template.rendersOnlyDigits(compiled("{SEQ}")))
    assert.isTrue(Template.rendersOnlyDigits(compiled("9{YYYYMMDD}{DC}{WORKER}0{SEQ:8}")))
    assert.isFalse(Template.rendersOnlyDigits(compiled("W{SEQ}")))
    assert.isFalse(Template.rendersOnlyDigits(compiled("{SEQ}-{DC}")))
  })

  it("pads {SEQ:n} to n digits and never truncates a longer value", () => {
    assert.strictEqual(Template.render(compiled("{SEQ:5}"), { ...ctx, seq: 7 }), "00007")
    assert.strictEqual(Template.render(compiled("{SEQ:3}"), { ...ctx, seq: 123456 }), "123456")
    assert.strictEqual(Template.render(compiled("{SEQ:20}"), { ...ctx, seq: 1 }), "00000000000000000001")
    assert.strictEqual(Template.render(compiled("{SEQ}"), { ...ctx, seq: 0 }), "0")
  })

  it("keeps everything that is not a token literally", () => {
    assert.strictEqual(Template.render(compiled("{FOO}-{seq}-{SEQ}-{"), ctx), "{FOO}-{seq}-42-{")
    assert.strictEqual(Template.render(compiled("A{{SEQ}}B"), ctx), "A{42}B")
    assert.isFalse(compiled("X{SEQ:4}").usesDate)
    assert.isTrue(compiled("{ss}{SEQ:4}").usesDate)
  })

  it("rejects templates without a counter, bad widths, and over-long ones", () => {
    rejects("")
    rejects("WB{YYYYMMDD}")
    rejects("{seq}")
    rejects("{SEQ:0}")
    rejects("{SEQ:21}")
    rejects("{SEQ:abc}")
    rejects("{SEQ:}")
    rejects("{SEQ:-1}")
    rejects("{SEQ:08x}")
    rejects("x".repeat(125) + "{SEQ}")
    assert.strictEqual(compiled("x".repeat(123) + "{SEQ}").source.length, 128)
  })
})
