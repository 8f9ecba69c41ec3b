/**
 * The configuration reference says what a node refuses: a string setting's minimum length
 * (which its JSON Schema gives in code points, half the characters for `isMinLength(16)`)
 * and the checks it declares, each shown in the setting's type and true of its schema.
 */
import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { entries } from "@idgen/server/config/ServerConfig"
import { render } from "../../scripts/config-reference.ts"

/** `file key → type cell` of the rendered reference. */
const typeCells = (() => {
  const cells = new Map<string, string>()
  let section = ""
  for (const line of render().split("\n")) {
    section = /^#### `\[(.+)\]`$/.exec(line)?.[1] ?? section
    const row = /^\| `([^`]+)` \| (.+?) \| /.exec(line)
    if (row !== null) cells.set(`${section}.${row[1]}`, row[2]!)
  }
  return cells
})()

describe("configuration reference", () => {
  it("shows the minimum length of the tokens a node refuses when shorter, and the admin token's placeholder check", () => {
    assert.strictEqual(typeCells.get("metrics.bearer_token"), "string, at least 16 characters")
    assert.match(typeCells.get("admin.token")!, /^string, at least 16 characters, not an example's placeholder/)
  })

  it("every minimum length it shows is the schema's: one character less is refused, that many accepted", () => {
    const shown = entries.flatMap((entry) => {
      const minimum = /at least (\d+) characters/.exec(typeCells.get(entry.file.join("."))!)
      return minimum === null ? [] : [[entry, Number(minimum[1])] as const]
    })
    assert.includeMembers(shown.map(([entry]) => entry.file.join(".")), ["metrics.bearer_token", "admin.token"])
    for (const [entry, minimum] of shown) {
      const accepts = (text: string) => Schema.decodeUnknownExit(entry.setting.schema as Schema.Codec<unknown, unknown>)(text)._tag === "Success"
      assert.isFalse(accepts("k7".repeat(minimum).slice(0, minimum - 1)), entry.file.join("."))
      assert.isTrue(accepts("k7".repeat(minimum).slice(0, minimum)), entry.file.join("."))
    }
  })
})
