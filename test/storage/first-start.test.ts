/**
 * A node's first start on an empty data directory copies the embedded store's template
 * (initdb's output with the schema migrated, per PGlite version and schema,
 * `storage/EmbeddedTemplate.ts`, made by `scripts/embedded-template.ts`) instead of running
 * initdb and the migrations, and is otherwise the first start it always was; without a usable
 * template it runs initdb and migrates. A template is only ever copied. Real server processes,
 * each test with a template cache of its own (`database.embedded_template_dir`).
 */
import { assert, describe, it } from "@effect/vitest"
import * as EmbeddedTemplate from "@idgen/server/storage/EmbeddedTemplate"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { make, type ServerProcessShape, workspaceWithKey } from "../support/ServerProcess.ts"
import { tempDir } from "../support/TempDir.ts"

const embedded = (cache: string) => ({
  env: { IDGEN_DATABASE_URL: "", IDGEN_DATABASE_EMBEDDED_TEMPLATE_DIR: cache, IDGEN_LOG_FORMAT: "json" }
})

/** The log lines the server wrote so far (all its starts), parsed. */
const logLines = (server: ServerProcessShape) =>
  server.output().split("\n").flatMap((line): Array<{ message: unknown; annotations: Record<string, any> }> => {
    try {
      return [JSON.parse(line)]
    } catch {
      return []
    }
  })

/** What each start said of its data directory ("embedded database ready"), in order. */
const readyLines = (server: ServerProcessShape) =>
  logLines(server).filter((line) => line.message === "embedded database ready").map((line) => line.annotations)

/** Every file under `dir` with a digest of its bytes: equal snapshots, the same files with the same content. */
const snapshot = (dir: string) =>
  Object.fromEntries(
    Fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).map((entry) => {
      const file = Path.join(entry.parentPath, entry.name)
      return [Path.relative(dir, file), createHash("sha256").update(Fs.readFileSync(file)).digest("hex")]
    })
  )

const batch = (server: ServerProcessShape, key: string) =>
  Effect.map(
    server.request("POST", "/api/v1/generate/batch", {
      apiKey: key,
      json: { workspace: "first", group: "g", biz_tag: "orders", size: 500 }
    }),
    (response) => {
      assert.strictEqual(response.status, 200, response.text)
      assert.strictEqual(response.json.algorithm, "segment")
      return (response.json.ids as Array<string>).map(Number)
    }
  )

/** Makes the template under `cache` as `npm ci` does. */
const makeTemplate = (cache: string) => {
  const script = Path.resolve(import.meta.dirname, "../../scripts/embedded-template.ts")
  const made = spawnSync(process.execPath, [script, cache], { encoding: "utf8" })
  assert.strictEqual(made.status, 0, made.stderr)
  const template = EmbeddedTemplate.find(cache)
  assert.strictEqual(template._tag, "Found", made.stdout + made.stderr)
  return template as Extract<EmbeddedTemplate.Lookup, { _tag: "Found" }>
}

describe("embedded first start", () => {
  it.live(
    "copies the template: the schema comes with it (logged as migrated), the node pins its settings, issues IDs and restarts without an ID twice; the template never changes",
    () =>
      Effect.gen(function*() {
        const cache = yield* tempDir("idgen-template-")
        const template = makeTemplate(cache)
        const before = snapshot(template.dir)

        const server = yield* make("", embedded(cache))
        const [copied] = readyLines(server)
        assert.strictEqual(copied?.origin, "template", server.output())
        assert.strictEqual(copied?.template, template.dir)
        // Logged as a first start without the template logs them; the node's own state is its own.
        const migrated = logLines(server).find((line) => line.message === "database migrated")
        assert.match(migrated?.annotations["migrations"], /^1_tenancy,2_segments,.*,11_/)
        assert.strictEqual(migrated?.annotations["template"], template.dir)
        assert.include(logLines(server).map((line) => line.message), "cluster settings pinned in the database")
        const key = yield* workspaceWithKey(server, { name: "first" })
        const issued = [...(yield* batch(server, key)), ...(yield* batch(server, key))]

        yield* server.restart
        assert.strictEqual(readyLines(server)[1]?.origin, "existing")
        const after = yield* batch(server, key)
        assert.strictEqual(new Set([...issued, ...after]).size, issued.length + after.length, "an ID issued twice")
        assert.isAbove(Math.min(...after), Math.max(...issued))
        yield* server.kill()
        assert.deepStrictEqual(snapshot(template.dir), before, "the template changed")
      }).pipe(Effect.scoped),
    240_000
  )

  it.live("without a usable template (none, or one made for another PGlite version) runs initdb and migrates; leaves the template as it was", () =>
    Effect.gen(function*() {
      const none = yield* make("", embedded(yield* tempDir("idgen-template-")))
      const [initdb] = readyLines(none)
      assert.strictEqual(initdb?.origin, "initdb", none.output())
      assert.include(initdb?.template, "none at ")
      const migrated = logLines(none).find((line) => line.message === "database migrated")
      assert.match(migrated?.annotations["migrations"], /^1_tenancy,/)
      assert.notProperty(migrated?.annotations, "template")
      assert.lengthOf(yield* batch(none, yield* workspaceWithKey(none, { name: "first" })), 500)
      yield* none.kill()

      const cache = yield* tempDir("idgen-template-")
      // Were it used, PostgreSQL would not start on this.
      const dir = EmbeddedTemplate.location(cache)
      Fs.mkdirSync(Path.join(dir, "data"), { recursive: true })
      Fs.writeFileSync(Path.join(dir, "data", "PG_VERSION"), "17\n")
      Fs.writeFileSync(Path.join(dir, "template.json"), JSON.stringify({ pglite: "0.0.1", schema: EmbeddedTemplate.schemaDigest }))
      const before = snapshot(dir)
      const other = yield* make("", embedded(cache))
      const [ready] = readyLines(other)
      assert.strictEqual(ready?.origin, "initdb", other.output())
      assert.include(ready?.template, "made for pglite 0.0.1")
      assert.lengthOf(yield* batch(other, yield* workspaceWithKey(other, { name: "first" })), 500)
      assert.deepStrictEqual(snapshot(dir), before, "the template changed")
    }).pipe(Effect.scoped), 240_000)
})
