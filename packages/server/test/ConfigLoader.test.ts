import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { load } from "../src/config/ConfigLoader.ts"
import { liveSettings } from "../src/config/HotReload.ts"
import { entries } from "../src/config/ServerConfig.ts"

const refused = (env: Record<string, string>, overrides: Record<string, unknown> = {}) =>
  Effect.map(Effect.flip(load(env, overrides)), (error) => {
    assert.strictEqual(error._tag, "ConfigInvalid")
    return error.message
  })

/** A directory of secret files, removed when the test's scope closes. */
const secrets = (files: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const dir = mkdtempSync(join(tmpdir(), "idgen-secrets-"))
      for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
      return dir
    }),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

describe("configuration loading", () => {
  it.effect("every problem is reported at once, each with its key, its variable and the value given", () =>
    Effect.gen(function*() {
      const message = yield* refused({ IDGEN_HTTP_PORT: "eighty", IDGEN_SEGMENT_STEP: "0" })
      assert.include(message, `http.port (IDGEN_HTTP_PORT): Expected number, got "eighty"`)
      assert.include(message, "segment.default_step (IDGEN_SEGMENT_STEP): Expected a value greater than 0, got 0")
    }))

  it.effect("problems of different sections, of the file and of cross-field rules are listed together", () =>
    Effect.gen(function*() {
      const message = yield* refused(
        { IDGEN_ETCD_LEASE_TTL_SECONDS: "3", IDGEN_ETCD_FENCING_MARGIN_MS: "2000", IDGEN_TLS_CERT_FILE: "cert.pem" },
        { segment: { l1_capacity: -1 }, http: { no_such_key: 1 } }
      )
      assert.include(message, "etcd.fencing_margin_ms (IDGEN_ETCD_FENCING_MARGIN_MS): 2000 ms leaves no room")
      assert.include(message, "tls.cert_file (IDGEN_TLS_CERT_FILE) and tls.key_file (IDGEN_TLS_KEY_FILE) must be set together")
      assert.include(message, "segment.l1_capacity (IDGEN_SEGMENT_L1_CAPACITY): Expected a value between 0 and 16777216, got -1")
      assert.include(message, "http.no_such_key")
    }))

  it.effect("a secret's value is never repeated in a problem", () =>
    Effect.gen(function*() {
      const message = yield* refused({ IDGEN_DATABASE_URL: "mysql://user:hunter2-password@db" })
      assert.include(message, "database.url (IDGEN_DATABASE_URL)")
      assert.notInclude(message, "hunter2")
    }))

  it("every key has an environment variable, distinct; the contract's irregular names among them", () => {
    const variables = entries.map((e) => e.variable)
    assert.strictEqual(new Set(variables).size, variables.length)
    for (const name of ["IDGEN_DATA_DIR", "IDGEN_DATACENTER_ID", "IDGEN_WORKER_ID", "IDGEN_EPOCH", "IDGEN_SEGMENT_STEP", "OTEL_SERVICE_NAME"]) {
      assert.include(variables, name)
    }
  })

  it.effect("derived and irregular variable names both set their keys", () =>
    Effect.gen(function*() {
      const config = yield* load({
        IDGEN_SEGMENT_MAX_STEP: "5000",
        IDGEN_ALERTING_THRESHOLDS_CLOCK_DRIFT_MS: "250",
        IDGEN_ALERTING_LABELS: "cluster=eu,region=west",
        IDGEN_DATA_DIR: "/var/lib/idgen",
        IDGEN_DATACENTER_ID: "3",
        IDGEN_SEGMENT_STEP: "50",
        IDGEN_LOG_LEVEL: "DEBUG",
        OTEL_TRACES_SAMPLER_ARG: "0.25",
        IDGEN_CONFIG_WATCH: "off",
        IDGEN_ALERTING_RULES: JSON.stringify([{ name: "NodeUp", expr: "idgen_health_status >= 0", for: "1m" }])
      })
      assert.strictEqual(config.segment.maxStep, 5000)
      assert.strictEqual(config.alerting.thresholds.clockDriftMillis, 250)
      assert.deepStrictEqual(config.alerting.labels, { cluster: "eu", region: "west" })
      assert.strictEqual(config.database.dataDir, "/var/lib/idgen")
      assert.strictEqual(config.node.datacenterId, 3)
      assert.strictEqual(config.segment.defaultStep, 50)
      assert.strictEqual(config.log.level, "debug")
      assert.strictEqual(config.tracing.sampleRatio, 0.25)
      assert.strictEqual(config.reload.watch, false)
      assert.deepInclude(config.alerting.rules[0], { name: "NodeUp", forMs: 60_000, severity: "warning" })
    }))

  it.effect("secrets are read from the files named in IDGEN_ADMIN_TOKEN_FILE, IDGEN_DATABASE_URL_FILE, IDGEN_REDIS_URL_FILE", () =>
    Effect.gen(function*() {
      const dir = yield* secrets({
        token: "file-admin-token-0123456789abcdef\n",
        db: "postgres://idgen:pw@db:5432/idgen\n",
        redis: "redis://cache:6379"
      })
      const config = yield* load({
        IDGEN_ADMIN_TOKEN_FILE: join(dir, "token"),
        IDGEN_DATABASE_URL_FILE: join(dir, "db"),
        IDGEN_REDIS_URL_FILE: join(dir, "redis")
      })
      assert.strictEqual(Redacted.value(config.admin.token!), "file-admin-token-0123456789abcdef")
      assert.strictEqual(Redacted.value(config.database.url!), "postgres://idgen:pw@db:5432/idgen")
      assert.strictEqual(Redacted.value(config.redis.url!), "redis://cache:6379")
    }).pipe(Effect.scoped))

  it.effect("a secret set twice (variable and _FILE) or a _FILE that cannot be read is refused, naming the variable", () =>
    Effect.gen(function*() {
      const dir = yield* secrets({ token: "file-admin-token-0123456789abcdef" })
      const both = yield* refused({ IDGEN_ADMIN_TOKEN: "env-admin-token-0123456789abcdef", IDGEN_ADMIN_TOKEN_FILE: join(dir, "token") })
      assert.include(both, "IDGEN_ADMIN_TOKEN and IDGEN_ADMIN_TOKEN_FILE are both set")
      const missing = yield* refused({ IDGEN_REDIS_URL_FILE: join(dir, "absent") })
      assert.include(missing, `IDGEN_REDIS_URL_FILE: cannot read ${join(dir, "absent")}`)
    }).pipe(Effect.scoped))

  it.effect("a file's secret passes the same checks as the variable's", () =>
    Effect.gen(function*() {
      const dir = yield* secrets({ token: "short\n" })
      const message = yield* refused({ IDGEN_ADMIN_TOKEN_FILE: join(dir, "token") })
      assert.include(message, "admin.token (IDGEN_ADMIN_TOKEN): 5 characters, at least 16 required")
    }).pipe(Effect.scoped))

  it("the reload list is the settings declared live", () => {
    assert.deepStrictEqual(liveSettings, entries.filter((e) => e.setting.live).map((e) => e.file.join(".")))
    assert.include(liveSettings, "segment.default_step")
    assert.include(liveSettings, "alerting.thresholds.clock_drift_ms")
    assert.notInclude(liveSettings, "http.port")
  })
})
