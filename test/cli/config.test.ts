/**
 * `idgen config` run as a user runs it: the effective configuration (defaults, file,
 * environment, secrets from `_FILE`) in the file's form with secrets redacted, the defaults
 * with `--defaults`, and a refused configuration with every problem named.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parse as parseToml } from "smol-toml"
import { load } from "@idgen/server/config/ConfigLoader"
import { idgen, ok } from "../support/IdgenCli.ts"

const ADMIN_SECRET = "cli-config-admin-token-0123456789"
const DATABASE_SECRET = "postgres://idgen:db-password-4711@db:5432/idgen"

/** A directory with these files, removed when the test's scope closes. */
const files = (contents: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const dir = mkdtempSync(join(tmpdir(), "idgen-cli-config-"))
      for (const [name, text] of Object.entries(contents)) writeFileSync(join(dir, name), text)
      return dir
    }),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

describe("idgen config", () => {
  it.effect("prints the effective configuration (file, variables, _FILE secrets) in TOML, secrets redacted", () =>
    Effect.gen(function*() {
      const dir = yield* files({
        "idgen.toml": "[segment]\ndefault_step = 250\n\n[tracing.otlp_headers]\nauthorization = \"Bearer otlp-secret\"\n",
        "db-url": `${DATABASE_SECRET}\n`
      })
      const env = {
        IDGEN_CONFIG: join(dir, "idgen.toml"),
        IDGEN_HTTP_PORT: "9090",
        IDGEN_ADMIN_TOKEN: ADMIN_SECRET,
        IDGEN_DATABASE_URL_FILE: join(dir, "db-url")
      }
      const out = ok(yield* idgen(["config"], env))
      const shown = parseToml(out) as any
      assert.strictEqual(shown.http.port, 9090)
      assert.strictEqual(shown.segment.default_step, 250)
      assert.strictEqual(shown.segment.max_step, 10_000_000, "defaults are shown too")
      assert.strictEqual(shown.admin.token, "<redacted>")
      assert.strictEqual(shown.database.url, "<redacted>")
      assert.deepStrictEqual(shown.tracing.otlp_headers, { authorization: "<redacted>" })
      for (const secret of [ADMIN_SECRET, "db-password-4711", "otlp-secret"]) assert.notInclude(out, secret)

      const json = JSON.parse(ok(yield* idgen(["config", "--json", "--config", join(dir, "idgen.toml")], env)))
      assert.strictEqual(json.segment.default_step, 250)
      assert.strictEqual(json.database.url, "<redacted>")
    }).pipe(Effect.scoped), 60_000)

  it.effect("--defaults prints the defaults, a file a node loads as the defaults", () =>
    Effect.gen(function*() {
      const out = ok(yield* idgen(["config", "--defaults"]))
      const shown = parseToml(out) as any
      assert.strictEqual(shown.http.port, 8080)
      assert.strictEqual(shown.segment.default_step, 1000)
      assert.isUndefined(shown.admin?.token, "unset by default")
      const dir = yield* files({ "defaults.toml": out })
      assert.deepStrictEqual(yield* load({ IDGEN_CONFIG: join(dir, "defaults.toml") }), yield* load({}))
    }).pipe(Effect.scoped), 60_000)

  it.effect("a configuration that would be refused at start: exit 78 with the node's report, every problem with its variable", () =>
    Effect.gen(function*() {
      const env = { IDGEN_HTTP_PORT: "eighty", IDGEN_SEGMENT_STEP: "0" }
      const [run, node] = yield* Effect.all([idgen(["config"], env), idgen(["serve"], env)], { concurrency: 2 })
      assert.strictEqual(run.code, 78, run.stderr)
      assert.strictEqual(run.stdout, "")
      assert.include(run.stderr, `http.port (IDGEN_HTTP_PORT): Expected number, got "eighty"`)
      assert.include(run.stderr, "segment.default_step (IDGEN_SEGMENT_STEP): Expected a value greater than 0, got 0")
      assert.strictEqual(node.code, 78, node.stderr)
      assert.strictEqual(run.stderr, node.stderr, "refused as a node refuses it")
    }), 60_000)
})
