/**
 * A node's first start on an empty data directory copies the embedded store's template
 * (initdb's output per PGlite version, `storage/EmbeddedTemplate.ts`) instead of running
 * initdb, and is otherwise the first start it always was; without a usable template it runs
 * initdb and saves one. A template is only ever copied. Real server processes, each test with
 * a template cache of its own (`database.embedded_template_dir`).
 */
import { assert, describe, it } from "@effect/vitest"
import * as EmbeddedTemplate from "@idgen/server/storage/EmbeddedTemplate"
import { Effect } from "effect"
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

describe("embedded first start", () => {
  it.live(
    "without a template runs initdb and saves one; the next copies it, is a whole first start, and restarts without an ID twice; the template is never changed",
    () =>
      Effect.gen(function*() {
        const cache = yield* tempDir("idgen-template-")
        const first = yield* make("", embedded(cache))
        const [initdb] = readyLines(first)
        assert.strictEqual(initdb?.origin, "initdb", first.output())
        assert.include(initdb?.template, "saved it for the next first start")
        yield* first.kill()
        const template = EmbeddedTemplate.find(cache)
        assert.strictEqual(template._tag, "Found")
        const before = snapshot(template.dir)

        const server = yield* make("", embedded(cache))
        const [copied] = readyLines(server)
        assert.strictEqual(copied?.origin, "template", server.output())
        assert.strictEqual(copied?.template, template.dir)
        // The node's own state is made by its first start, not carried by the template.
        const messages = logLines(server).map((line) => line.message)
        assert.include(messages, "database migrated")
        assert.include(messages, "cluster settings pinned in the database")
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

  it.live("a template another PGlite version made is not used (initdb) and is left as it was", () =>
    Effect.gen(function*() {
      const cache = yield* tempDir("idgen-template-")
      // Were it used, PostgreSQL would not start on this.
      const dir = EmbeddedTemplate.location(cache)
      Fs.mkdirSync(Path.join(dir, "data"), { recursive: true })
      Fs.writeFileSync(Path.join(dir, "data", "PG_VERSION"), "17\n")
      Fs.writeFileSync(Path.join(dir, "template.json"), JSON.stringify({ pglite: "0.0.1" }))
      const before = snapshot(dir)

      const server = yield* make("", embedded(cache))
      const [ready] = readyLines(server)
      assert.strictEqual(ready?.origin, "initdb", server.output())
      assert.include(ready?.template, "made by pglite 0.0.1")
      const key = yield* workspaceWithKey(server, { name: "first" })
      assert.lengthOf(yield* batch(server, key), 500)
      assert.deepStrictEqual(snapshot(dir), before, "the template changed")
    }).pipe(Effect.scoped), 240_000)
})
