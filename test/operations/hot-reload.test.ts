/**
 * Configuration hot reload on a real server process: the file (IDGEN_CONFIG) changed under
 * the running server takes effect without a restart; an invalid file is refused with the
 * error reported and the running configuration kept; settings that need a restart are
 * reported, not applied; SIGHUP reloads; the operator API shows the effective configuration
 * with secrets redacted and accepts (validated) runtime changes.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ADMIN_TOKEN, createBizTag, make as startServer, type ServerProcessShape, wait, workspaceWithKey } from "../support/ServerProcess.ts"
import { eventually } from "../support/Eventually.ts"
import { tempDir } from "../support/TempDir.ts"
import * as TestDatabase from "../support/TestDatabase.ts"

/**
 * Replaces the file in one step (write, then rename), as editors and config tools do: a
 * poll in the middle of a plain rewrite would read a truncated file — an empty one is a
 * valid configuration of defaults.
 */
const writeConfig = (file: string, text: string) => {
  writeFileSync(`${file}.tmp`, text)
  renameSync(`${file}.tmp`, file)
}

const toml = (step: number, extra = "", watch = true, pollMillis = 100) =>
  ["[segment]", `default_step = ${step}`, "", "[reload]", `poll_interval_ms = ${pollMillis}`, `watch = ${watch}`, extra].join("\n")

/** Polls the operator API's config view until `until` holds (bounded). */
const configWhen = (server: ServerProcessShape, until: (view: any) => boolean, what: string) =>
  Effect.gen(function*() {
    const end = Date.now() + 20_000
    while (true) {
      const view = yield* server.request("GET", "/api/v1/admin/config", { admin: true })
      assert.strictEqual(view.status, 200, view.text)
      if (until(view.json)) return view.json
      if (Date.now() > end) return assert.fail(`${what}: not seen within 20 s; last ${view.text}`)
      yield* wait(50)
    }
  })

layer(Layer.empty, { timeout: "180 seconds", excludeTestServices: true })("configuration hot reload", (it) => {
  it.effect("file changes apply live, invalid files are refused, the old configuration stays", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "idgen-reload-"))),
        (path) => Effect.sync(() => rmSync(path, { recursive: true, force: true }))
      )
      const file = join(dir, "idgen.toml")
      writeConfig(file, toml(100))
      const server = yield* startServer(yield* TestDatabase.make, { env: { IDGEN_CONFIG: file } })
      const apiKey = yield* workspaceWithKey(server, { name: "reload" })

      const first = yield* createBizTag(server, "reload", { group: "g", name: "before", algorithm: "segment" })
      assert.strictEqual(first.json.step, 100)

      // The effective configuration, secrets redacted.
      const initial = yield* configWhen(server, () => true, "config view")
      assert.strictEqual(initial.config_file, file)
      assert.strictEqual(initial.effective.admin.token, "<redacted>")
      assert.strictEqual(initial.effective.database.url, "<redacted>")
      assert.notInclude(JSON.stringify(initial), ADMIN_TOKEN)
      assert.include(initial.live_settings, "segment.default_step")
      // The file's names, as PATCH and the TOML spell them; every setting listed, unset ones null.
      assert.strictEqual(initial.effective.segment.default_step, 100)
      assert.notProperty(initial.effective.segment, "defaultStep")
      assert.strictEqual(initial.effective.http.max_body_bytes, 65_536)
      assert.strictEqual(initial.effective.redis.url, null)

      // 1. A valid change: effective without a restart.
      writeConfig(file, toml(250, "\n[log]\nlevel = \"debug\""))
      const reloaded = yield* configWhen(server, (v) => v.effective.segment.default_step === 250, "default_step 250")
      assert.includeMembers(reloaded.last_reload.applied, ["segment.default_step", "log.level"])
      assert.strictEqual(reloaded.last_reload.source, "file")
      assert.strictEqual(reloaded.effective.log.level, "debug")
      const second = yield* createBizTag(server, "reload", { group: "g", name: "after", algorithm: "segment" })
      assert.strictEqual(second.json.step, 250)

      // 2. An invalid file: refused, reported, the running configuration kept.
      writeConfig(file, toml(-5))
      const refused = yield* configWhen(server, (v) => v.last_error !== null, "the refused reload")
      assert.match(refused.last_error.message, /default_step/)
      assert.strictEqual(refused.effective.segment.default_step, 250)
      const metrics = (yield* server.request("GET", "/metrics")).text
      assert.match(metrics, /idgen_config_reloads_total\{outcome="failure"\} [1-9]/)
      assert.match(metrics, /idgen_config_last_reload_successful 0/)
      assert.match(server.output(), /configuration reload \(file\) refused/)
      const generated = yield* server.request("POST", "/api/v1/generate", {
        apiKey,
        json: { workspace: "reload", group: "g", biz_tag: "after" }
      })
      assert.strictEqual(generated.status, 200, generated.text)
      writeConfig(file, "this is [not toml")
      yield* configWhen(server, (v) => v.last_error !== null && /cannot read config file/.test(v.last_error.message), "bad TOML")

      // 3. A setting that needs a restart: reported, not applied.
      writeConfig(file, toml(300, "\n[http]\nmax_body_bytes = 1024"))
      const partial = yield* configWhen(server, (v) => v.effective.segment.default_step === 300, "default_step 300")
      assert.strictEqual(partial.last_error, null)
      assert.include(partial.last_reload.restart_required, "http.max_body_bytes")
      assert.strictEqual(partial.effective.http.max_body_bytes, 65_536)

      // 4. Watching off: the file is read on SIGHUP.
      writeConfig(file, toml(300, "", false))
      yield* configWhen(server, (v) => v.effective.reload.watch === false, "watch off")
      writeConfig(file, toml(400, "", false))
      // Absence of a reload can only be shown by letting several poll intervals pass.
      yield* wait(300)
      const unchanged = yield* configWhen(server, () => true, "config view")
      assert.strictEqual(unchanged.effective.segment.default_step, 300, "not watched: not applied")
      process.kill(server.pid()!, "SIGHUP")
      const signalled = yield* configWhen(server, (v) => v.effective.segment.default_step === 400, "SIGHUP")
      assert.strictEqual(signalled.last_reload.source, "signal")
    }).pipe(Effect.scoped))

  it.effect("reload lines (file watcher, SIGHUP) follow log.format = json and the log.level in force", () =>
    Effect.gen(function*() {
      const file = join(yield* tempDir("idgen-reload-"), "idgen.toml")
      const log = (level: string) => `\n[log]\nformat = "json"\nlevel = "${level}"`
      writeConfig(file, toml(100, log("info")))
      const server = yield* startServer(yield* TestDatabase.make, { env: { IDGEN_CONFIG: file } })

      writeConfig(file, toml(200, log("info")))
      yield* configWhen(server, (v) => v.effective.segment.default_step === 200, "default_step 200 (file)")
      // Now at level error: the reload that sets it logs nothing at info.
      writeConfig(file, toml(300, log("error"), false))
      yield* configWhen(server, (v) => v.effective.segment.default_step === 300, "default_step 300 (file)")
      writeConfig(file, toml(400, log("info"), false))
      process.kill(server.pid()!, "SIGHUP")
      yield* configWhen(server, (v) => v.effective.segment.default_step === 400, "default_step 400 (SIGHUP)")
      const reloaded = /configuration reloaded \((file|signal)\): [^"]*/

      yield* eventually("the SIGHUP reload's line", 10_000, Effect.sync(() => /configuration reloaded \(signal\)/.test(server.output())))
      const lines = server.output().split("\n").filter((line) => line.trim() !== "")
      for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), undefined, `not a JSON line: ${line}`)
      assert.deepStrictEqual(
        lines.flatMap((line) => reloaded.exec(line)?.[0] ?? []),
        ["configuration reloaded (file): segment.default_step", "configuration reloaded (signal): segment.default_step, log.level"]
      )
      assert.isTrue(lines.some((line) => /configuration file .* changed/.test(line)), "the watcher's own line, as JSON")
    }).pipe(Effect.scoped))

  it.effect("a file written in place in two halves is reloaded once whole, with no refused reload", () =>
    Effect.gen(function*() {
      const file = join(yield* tempDir("idgen-reload-"), "idgen.toml")
      // The second half must be written before the next poll: polls far enough apart that
      // a loaded machine's delay in noticing the first one and writing stays well inside.
      const pollMillis = 2_000
      writeConfig(file, toml(100, "", true, pollMillis))
      const server = yield* startServer(yield* TestDatabase.make, { env: { IDGEN_CONFIG: file } })
      const whole = toml(600, "", true, pollMillis)
      const cut = whole.indexOf("default_step") + "default_".length
      // The first half is not TOML: read as it is, it would be a refused reload.
      writeFileSync(file, whole.slice(0, cut))
      const changed = /configuration file .* changed|configuration reload \(file\)/
      yield* eventually("the watcher seeing the half-written file", 20_000, Effect.sync(() => changed.test(server.output())), 10)
      appendFileSync(file, whole.slice(cut))
      const view = yield* configWhen(server, (v) => v.effective.segment.default_step === 600, "default_step 600")
      assert.strictEqual(view.last_error, null)
      assert.notMatch(server.output(), /configuration reload \(file\) refused/)
      const metrics = (yield* server.request("GET", "/metrics")).text
      assert.match(metrics, /idgen_config_reloads_total\{outcome="failure"\} 0\b/)
    }).pipe(Effect.scoped))

  it.effect("the operator API applies valid runtime changes and refuses invalid ones", () =>
    Effect.gen(function*() {
      const server = yield* startServer(yield* TestDatabase.make)
      const unauthenticated = yield* server.request("GET", "/api/v1/admin/config")
      assert.strictEqual(unauthenticated.status, 401)

      const bad = yield* server.request("PATCH", "/api/v1/admin/config", {
        admin: true,
        json: { segment: { default_step: "many" } }
      })
      assert.strictEqual(bad.status, 400, bad.text)
      assert.strictEqual(bad.json.error.code, "IDGEN-COMMON-0001")
      assert.match(bad.json.error.message, /default_step/)
      const badRule = yield* server.request("PATCH", "/api/v1/admin/config", {
        admin: true,
        json: { alerting: { rules: [{ name: "Broken", expr: "rate(x)" }] } }
      })
      assert.strictEqual(badRule.status, 400, badRule.text)
      assert.match(badRule.json.error.message, /Broken/)
      // A setting read at start only would sit in the overrides, which a restart forgets: refused
      // whole (the live one beside it too), not applied, not kept, not audited.
      const restartOnly = yield* server.request("PATCH", "/api/v1/admin/config", {
        admin: true,
        json: { http: { port: 1 }, segment: { default_step: 555 } }
      })
      assert.strictEqual(restartOnly.status, 400, restartOnly.text)
      assert.strictEqual(restartOnly.json.error.code, "IDGEN-COMMON-0001")
      assert.match(restartOnly.json.error.message, /http\.port is read at start only/)
      const untouched = yield* server.request("GET", "/api/v1/admin/config", { admin: true })
      assert.deepStrictEqual(untouched.json.overrides, {})
      assert.notStrictEqual(untouched.json.effective.segment.default_step, 555)

      const ok = yield* server.request("PATCH", "/api/v1/admin/config", {
        admin: true,
        json: {
          segment: { default_step: 777 },
          alerting: { rules: [{ name: "NodeUp", expr: "idgen_health_status >= 0", for: "1m", severity: "info" }] }
        }
      })
      assert.strictEqual(ok.status, 200, ok.text)
      assert.includeMembers(ok.json.applied, ["segment.default_step", "alerting.rules"])
      assert.deepStrictEqual(ok.json.restart_required, [])
      // Audit rows are queued in order: once the accepted change's row is there, a refused one's would be.
      const audited = yield* eventually("the accepted change's audit row", 10_000, Effect.map(
        server.request("GET", "/api/v1/admin/audit?action=update_config", { admin: true }),
        (audit) => audit.json.items.length > 0 && audit.json.items
      ))
      assert.deepStrictEqual(audited.map((row: any) => row.details.requested), [["segment.default_step", "alerting.rules"]])
      const view = yield* server.request("GET", "/api/v1/admin/config", { admin: true })
      assert.strictEqual(view.json.effective.segment.default_step, 777)
      assert.deepStrictEqual(view.json.overrides.segment, { default_step: 777 })
      const rules = yield* server.request("GET", "/api/v1/admin/alert-rules", { admin: true })
      assert.deepInclude(rules.json.map((r: any) => ({ name: r.name, for: r.for })), { name: "NodeUp", for: "1m" })
      yield* workspaceWithKey(server, { name: "patched" })
      const tag = yield* createBizTag(server, "patched", { group: "g", name: "t", algorithm: "segment" })
      assert.strictEqual(tag.json.step, 777)
    }).pipe(Effect.scoped))
})
