/**
 * IDGEN_* variables nothing reads (`config/UnknownVariables.ts`): one line each, with the
 * closest known name; every IDGEN_* name the packages' sources use is known.
 */
import { assert, describe, it } from "@effect/vitest"
import * as UnknownVariables from "@idgen/server/config/UnknownVariables"
import { readdirSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"

const packages = resolve(import.meta.dirname, "../..")

const sources = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : /\.(ts|js)$/.test(entry.name) ? [join(dir, entry.name)] : []
  )

describe("UnknownVariables", () => {
  it("a misspelled setting: one line naming it, with the setting it is close to; known ones and others pass", () => {
    const problems = UnknownVariables.problems({
      IDGEN_HTTP_PROT: "19099",
      IDGEN_HTTP_PORT: "8080",
      IDGEN_ADMIN_TOKEN_FILE: "/run/secrets/token",
      IDGEN_CONFIG: "idgen.toml",
      IDGEN_BANANA: "1",
      PATH: "/usr/bin"
    })
    assert.deepStrictEqual(problems, [
      "environment variable IDGEN_BANANA is not read by idgen (no setting has it)",
      "environment variable IDGEN_HTTP_PROT is not read by idgen (no setting has it); did you mean IDGEN_HTTP_PORT?"
    ])
  })

  it("every IDGEN_* name in the packages' sources is known (the settings', the file's, the worker index, the CLI's)", () => {
    const used = new Set(
      ["server", "cli", "core", "protocol", "client"].flatMap((pkg) => {
        const src = join(packages, pkg, "src")
        return sources(src).flatMap((file) => readFileSync(file, "utf8").match(/\bIDGEN_[A-Z0-9_]*[A-Z0-9]\b/g) ?? [])
      })
    )
    assert.isAbove(used.size, 10)
    const env = Object.fromEntries([...used].map((name) => [name, "x"]))
    assert.deepStrictEqual(UnknownVariables.problems(env), [])
  })
})
