/**
 * Formatted IDs never collide: for any accepted template, two renderings that are equal
 * strings come from the same counter value, whatever the workers, datacenters and dates.
 *
 * Searching random pairs would almost never hit a collision, so the test searches
 * adversarially: for a rendered string `s` it tries every input that could possibly
 * render to `s`. A rendering contains each of its numbers in decimal, so any counter,
 * worker or datacenter behind `s` is the value of some digit run inside `s`: every such
 * value is a candidate (workers ≤ 255, datacenters ≤ 7), and every combination is
 * rendered, with the date of `s` and one other date.
 */
import { assert, describe, it } from "@effect/vitest"
import { Template } from "@idgen/core"
import { Result } from "effect"
import * as fc from "fast-check"

const tokens = ["{WORKER}", "{DC}", "{YYYY}", "{MM}", "{DD}", "{HH}", "{mm}", "{ss}", "{YYYYMMDD}", "{SEQ}"]
const seqToken = fc.oneof(fc.constant("{SEQ}"), fc.integer({ min: 1, max: 12 }).map((n) => `{SEQ:${n}}`))
// Digits and braces in literals: the cases where a literal could pass for part of a number or token.
const literal = fc.string({ unit: fc.constantFrom("0", "1", "7", "9", "A", "-", "{", "}"), minLength: 1, maxLength: 3 })
const piece = fc.oneof(fc.constantFrom(...tokens), seqToken, literal)

/** A template with at least one counter token, anywhere among up to four other pieces. */
const template = fc.tuple(fc.array(piece, { maxLength: 4 }), seqToken, fc.nat()).map(([pieces, seq, at]) => {
  const all = [...pieces]
  all.splice(at % (pieces.length + 1), 0, seq)
  return all.join("")
})

const year10000 = Date.UTC(10000, 0, 1)
const input = fc.record({
  seq: fc.oneof(fc.nat(20_000), fc.maxSafeNat()),
  nowMs: fc.integer({ min: 0, max: year10000 - 1 }),
  datacenterId: fc.integer({ min: 0, max: 7 }),
  workerId: fc.integer({ min: 0, max: 255 })
})

/** The value of every run of digits inside `s` (each a safe integer). */
const digitValues = (s: string): ReadonlyArray<number> => {
  const values = new Set<number>()
  for (let i = 0; i < s.length; i++) {
    for (let j = i + 1; j <= s.length && s[j - 1]! >= "0" && s[j - 1]! <= "9"; j++) {
      const value = Number(s.slice(i, j))
      if (Number.isSafeInteger(value)) values.add(value)
    }
  }
  return [...values]
}

/** An input other than `x`'s counter that renders exactly `s`, if there is one. */
const collision = (compiled: Template.CompiledTemplate, x: Template.RenderInput, otherNowMs: number) => {
  const s = Template.render(compiled, x)
  const values = digitValues(s)
  const uses = (tag: Template.Part["_tag"]) => compiled.parts.some((p) => p._tag === tag)
  const workers = uses("Worker") ? values.filter((v) => v <= 255) : [x.workerId]
  const datacenters = uses("Datacenter") ? values.filter((v) => v <= 7) : [x.datacenterId]
  for (const nowMs of [x.nowMs, otherNowMs]) {
    for (const seq of values) {
      if (seq === x.seq) continue
      for (const workerId of workers) {
        for (const datacenterId of datacenters) {
          const y = { seq, nowMs, workerId, datacenterId }
          if (Template.render(compiled, y) === s) return { s, x, y }
        }
      }
    }
  }
  return undefined
}

describe("formatted Template: rendered IDs are injective in the counter", () => {
  it("templates × workers × datacenters × dates × counters: equal strings only from equal counters", () => {
    fc.assert(
      fc.property(template, input, fc.integer({ min: 0, max: year10000 - 1 }), (source, x, otherNowMs) => {
        const compiled = Template.compile(source)
        // Every generated template has a counter token, is short, and has only well-formed widths.
        assert.isTrue(Result.isSuccess(compiled), `refused ${source}`)
        const found = collision(Result.getOrThrow(compiled), x, otherNowMs)
        assert.isUndefined(found, `${source}: ${JSON.stringify(found)}`)
      }),
      { numRuns: 400 }
    )
  })

  it("the issue's case: workers 1 and 11 with {WORKER}{SEQ}", () => {
    const compiled = Result.getOrThrow(Template.compile("W{WORKER}{SEQ}"))
    const at = { nowMs: 0, datacenterId: 0 }
    const one = Template.render(compiled, { ...at, workerId: 1, seq: 1500 })
    const eleven = Template.render(compiled, { ...at, workerId: 11, seq: 500 })
    assert.deepStrictEqual([one, eleven], ["W0011500", "W011500"])
  })
})
