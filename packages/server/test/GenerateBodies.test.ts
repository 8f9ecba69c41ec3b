/**
 * The fast path's hand check of generate bodies agrees with the Schema decoder: whatever
 * it accepts, the decoder accepts with the same value; whatever it leaves (undefined), the
 * decoder decides — so every rejection keeps the decoder's error.
 */
import { assert, describe, it } from "@effect/vitest"
import { Exit, Schema } from "effect"
import { BatchGenerateRequest, GenerateRequest } from "@idgen/protocol/http"
import { batchGenerateRequest, generateRequest } from "@idgen/server/requests/GenerateBodies"

const ok = { workspace: "ws", group: "g-1", biz_tag: "order_id" }

const bodies: ReadonlyArray<unknown> = [
  ok,
  { ...ok, size: 1 },
  { ...ok, size: 10_000 },
  { ...ok, size: 10_001 },
  { ...ok, size: 0 },
  { ...ok, size: 2.5 },
  { ...ok, size: "5" },
  { ...ok, extra: true },
  { ...ok, workspace: "WS" },
  { ...ok, group: "" },
  { ...ok, biz_tag: "-x" },
  { ...ok, biz_tag: "a".repeat(64) },
  { ...ok, biz_tag: "a".repeat(65) },
  { ...ok, workspace: 7 },
  { workspace: "ws", group: "g" },
  [ok],
  null,
  "ws",
  undefined
]

const agrees = (label: string, hand: unknown, decoded: Exit.Exit<unknown, unknown>) => {
  if (hand === undefined) return
  assert.isTrue(Exit.isSuccess(decoded), `${label}: accepted by hand, rejected by the schema`)
  if (Exit.isSuccess(decoded)) assert.deepStrictEqual(hand, decoded.value, label)
}

describe("generate bodies checked by hand", () => {
  it("accept only what the schema accepts, with the same value", () => {
    let accepted = 0
    for (const body of bodies) {
      const label = JSON.stringify(body) ?? "undefined"
      const single = generateRequest(body)
      const batch = batchGenerateRequest(body)
      agrees(label, single, Schema.decodeUnknownExit(GenerateRequest)(body))
      agrees(label, batch, Schema.decodeUnknownExit(BatchGenerateRequest)(body))
      if (single !== undefined) accepted++
      if (batch !== undefined) accepted++
    }
    // The well-formed ones do take the hand path: 9 as single bodies (any size, extra keys
    // ignored, a 64-character name), 2 as batch bodies (size 1 and 10 000).
    assert.strictEqual(accepted, 9 + 2)
  })
})
