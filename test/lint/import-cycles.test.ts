/**
 * The import-cycle check of `npm run lint` (scripts/import-cycles.ts) on small trees of its
 * own: a cycle between two folders or two modules fails it and is named with the imports
 * that close it; folders that import one way only pass.
 */
import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"

const script = resolve(import.meta.dirname, "../../scripts/import-cycles.ts")

/** Runs the check in a fresh directory holding `files` (path → source). */
const check = (files: Record<string, string>) => {
  const root = mkdtempSync(join(tmpdir(), "idgen-cycles-"))
  try {
    for (const [path, source] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true })
      writeFileSync(join(root, path), source)
    }
    const run = spawnSync(process.execPath, [script], { cwd: root, encoding: "utf8" })
    return { status: run.status, output: run.stdout + run.stderr }
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}

describe("import-cycles", () => {
  it("fails on two folders importing each other, naming both imports", () => {
    const result = check({
      "packages/app/src/http/Routes.ts": 'import { issue } from "../generate/Issue.ts"\nexport const route = () => issue()\n',
      "packages/app/src/generate/Issue.ts": 'import { route } from "../http/Routes.ts"\nexport const issue = () => route\n'
    })
    assert.strictEqual(result.status, 1, result.output)
    assert.include(result.output, "import cycle between folders: packages/app/src/generate -> packages/app/src/http -> packages/app/src/generate")
    assert.include(result.output, "packages/app/src/http/Routes.ts -> packages/app/src/generate/Issue.ts")
    assert.include(result.output, "packages/app/src/generate/Issue.ts -> packages/app/src/http/Routes.ts")
  })

  it("fails on a folder cycle through a third folder and through type-only imports", () => {
    const result = check({
      "packages/app/src/a/A.ts": 'import type { B } from "../b/B.ts"\nexport type A = B\n',
      "packages/app/src/b/B.ts": 'import type { C } from "../c/C.ts"\nexport type B = C\n',
      "packages/app/src/c/C.ts": 'import { a } from "../a/Other.ts"\nexport type C = typeof a\n',
      "packages/app/src/a/Other.ts": "export const a = 1\n"
    })
    assert.strictEqual(result.status, 1, result.output)
    assert.include(result.output, "import cycle between folders: packages/app/src/a -> packages/app/src/b -> packages/app/src/c -> packages/app/src/a")
  })

  it("fails on two modules of one folder importing each other", () => {
    const result = check({
      "packages/app/src/segment/Pool.ts": 'import { supply } from "./Supply.ts"\nexport const pool = () => supply\n',
      "packages/app/src/segment/Supply.ts": 'import { pool } from "./Pool.ts"\nexport const supply = () => pool\n'
    })
    assert.strictEqual(result.status, 1, result.output)
    assert.include(result.output, "import cycle between modules:")
  })

  it("passes folders that import one way, and a package root that imports every folder", () => {
    const result = check({
      "packages/app/src/App.ts": 'import { route } from "./http/Routes.ts"\nexport const app = route\n',
      "packages/app/src/http/Routes.ts": 'import { issue } from "../generate/Issue.ts"\nexport const route = () => issue()\n',
      "packages/app/src/generate/Issue.ts": 'import { Clock } from "../config/Clock.ts"\nexport const issue = () => Clock\n',
      "packages/app/src/config/Clock.ts": "export const Clock = 1\n"
    })
    assert.strictEqual(result.status, 0, result.output)
    assert.include(result.output, "no import cycles (4 modules, 3 folders)")
  })
})
