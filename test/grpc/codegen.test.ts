/**
 * The gRPC contract and its generated code stay in step: `buf lint` passes on `proto/`, and
 * `buf generate` (what `npm run generate` runs) reproduces the committed
 * `packages/protocol/src/gen/` byte for byte — so that code is generated, never hand-edited.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFile } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative, resolve } from "node:path"

const repoRoot = resolve(import.meta.dirname, "../..")
const buf = join(repoRoot, "node_modules/.bin/buf")
const generated = "packages/protocol/src/gen"

const run = (args: ReadonlyArray<string>) =>
  Effect.callback<{ code: number; output: string }>((resume) => {
    // ts-proto's plugin is found on PATH, as under `npm run`.
    const env = { ...process.env, PATH: `${join(repoRoot, "node_modules/.bin")}:${process.env.PATH}` }
    execFile(buf, args, { cwd: repoRoot, env, timeout: 60_000 }, (error, stdout, stderr) =>
      resume(Effect.succeed({ code: error === null ? 0 : 1, output: stdout + stderr })))
  })

const files = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? files(path) : [path]
  })

describe("proto/ and its generated code", () => {
  it.live("buf lint passes", () =>
    Effect.gen(function*() {
      const lint = yield* run(["lint"])
      assert.strictEqual(lint.code, 0, lint.output)
    }))

  it.live("buf generate reproduces packages/protocol/src/gen exactly", () =>
    Effect.gen(function*() {
      const out = yield* Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "idgen-codegen-"))),
        (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
      )
      const generate = yield* run(["generate", "--output", out])
      assert.strictEqual(generate.code, 0, generate.output)
      const committed = join(repoRoot, generated)
      const fresh = join(out, generated)
      const names = (dir: string) => files(dir).map((f) => relative(dir, f)).sort()
      assert.deepStrictEqual(names(fresh), names(committed))
      for (const name of names(committed)) {
        assert.strictEqual(
          readFileSync(join(fresh, name), "utf8"),
          readFileSync(join(committed, name), "utf8"),
          `${name} differs from what npm run generate produces`
        )
      }
    }))
})
