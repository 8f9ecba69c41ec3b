/**
 * The audit log of operator actions, read straight from the `audit_log` table
 * of a real server process: every successful admin action — workspace, biz_tag, API key,
 * configuration, degradation — leaves one `operator` row naming the admin token by its
 * fingerprint, the action, its target and the settings given, with no secret anywhere in the
 * row; refused or read-only requests leave none. Failed admin authentication is audited and
 * sampled like bad API keys; and the retention sweep removes aged operator rows.
 */
import { PgClient } from "@effect/sql-pg"
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { createHash } from "node:crypto"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ADMIN_TOKEN, make, type ServerProcessShape } from "../support/ServerProcess.ts"
import { type AuditRow, rowsOf, rowsWhen } from "../support/AuditRows.ts"
import * as TestDatabase from "../support/TestDatabase.ts"

class Node extends Context.Service<Node, ServerProcessShape>()("test/audit/operator-actions/Node") {}

const nodeName = "audit-ops"

const Suite = Layer.unwrap(Effect.gen(function*() {
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "idgen-audit-ops-"))),
    (path) => Effect.sync(() => rmSync(path, { recursive: true, force: true }))
  )
  const file = join(dir, "idgen.toml")
  writeFileSync(file, ["[reload]", "watch = false"].join("\n"))
  const databaseUrl = yield* TestDatabase.make.pipe(Effect.orDie)
  const server = yield* make(databaseUrl, { env: { IDGEN_NODE_NAME: nodeName, IDGEN_CONFIG: file } })
  return Layer.merge(
    Layer.succeed(Node, server),
    PgClient.layer({ url: Redacted.make(databaseUrl), maxConnections: 1 })
  )
}))

const fingerprint = (token: string) => `admin:${createHash("sha256").update(token).digest("hex").slice(0, 8)}`

/** A live setting whose value may carry a credential: it must not reach the trail. */
const webhookSecret = "s3cr3t-webhook-credential"

layer(Suite, { excludeTestServices: true, timeout: 180_000 })("audit of operator actions", (it) => {
  it.effect("each successful admin action is one row: who, what, target, settings — never a secret", () =>
    Effect.gen(function*() {
      const server = yield* Node
      const admin = (method: string, path: string, json?: unknown) =>
        server.request(method, `/api/v1/admin${path}`, { admin: true, ...(json === undefined ? {} : { json }) })
      const expectStatus = (status: number) => (res: { status: number; text: string }) =>
        assert.strictEqual(res.status, status, res.text)

      expectStatus(201)(yield* admin("POST", "/workspaces", { name: "ops", rate_limit: { per_second: 50, burst: 100 } }))
      expectStatus(201)(yield* admin("POST", "/workspaces/ops/biz-tags", { group: "g", name: "t", algorithm: "segment", step: 200 }))
      expectStatus(200)(yield* admin("PATCH", "/workspaces/ops/biz-tags/g/t", { step: 300 }))
      const created = yield* admin("POST", "/workspaces/ops/api-keys", { name: "ci" })
      expectStatus(201)(created)
      const key = created.json as { id: string; key: string; prefix: string }
      expectStatus(204)(yield* admin("DELETE", `/workspaces/ops/api-keys/${key.id}`))
      expectStatus(200)(yield* admin("PATCH", "/config", {
        segment: { default_step: 777 },
        alerting: { webhook_urls: [`http://127.0.0.1:9/hook?token=${webhookSecret}`] }
      }))
      expectStatus(200)(yield* admin("POST", "/config/reload"))
      expectStatus(200)(yield* admin("POST", "/degradation/uuid_v4/degrade", { reason: "drill" }))
      expectStatus(200)(yield* admin("POST", "/degradation/uuid_v4/recover"))
      // Refused and read-only requests change nothing: no rows.
      expectStatus(404)(yield* admin("PATCH", "/workspaces/ops/biz-tags/g/missing", { step: 10 }))
      expectStatus(409)(yield* admin("POST", "/workspaces", { name: "ops" }))
      expectStatus(400)(yield* admin("PATCH", "/config", { segment: { default_step: "many" } }))
      expectStatus(400)(yield* admin("PATCH", "/degradation/thresholds", { failure_threshold: 0 }))
      expectStatus(200)(yield* admin("GET", "/workspaces"))
      expectStatus(200)(yield* admin("GET", "/config"))
      // The last action: rows are queued and written in order, so once its row is there, any
      // row of the requests before it would be too.
      expectStatus(200)(yield* admin("PATCH", "/degradation/thresholds", { failure_threshold: 7 }))

      const rows = yield* rowsWhen({ eventType: "operator" }, (rows) => rows.at(-1)?.action === "set_thresholds", "the last action's row")
      const actor = fingerprint(ADMIN_TOKEN)
      for (const row of rows) assert.deepInclude(row, { event_type: "operator", actor, result: "success", node: nodeName })

      const summary = rows.map((row) => [row.action, row.resource])
      assert.deepStrictEqual(summary, [
        ["create_workspace", "workspace:ops"],
        ["create_biz_tag", "biz_tag:ops/g/t"],
        ["update_biz_tag", "biz_tag:ops/g/t"],
        ["create_api_key", `api_key:${key.id}`],
        ["revoke_api_key", `api_key:${key.id}`],
        ["update_config", "config"],
        ["reload_config", "config"],
        ["degrade", "algorithm:uuid_v4"],
        ["recover", "algorithm:uuid_v4"],
        ["set_thresholds", "degradation"]
      ])
      const details = rows.map((row) => row.metadata)
      assert.deepStrictEqual(details[0], {
        default_algorithm: "segment",
        auto_create_biz_tags: true,
        max_auto_biz_tags: 10_000,
        default_fallback: [],
        rate_limit: { per_second: 50, burst: 100 }
      })
      assert.deepStrictEqual(details[1], { algorithm: "segment", fallback: [], step: 200, format_template: null })
      assert.deepStrictEqual(details[2], { step: 300 })
      assert.deepStrictEqual(details[3], { workspace: "ops", name: "ci", prefix: key.prefix, expires_at: null })
      assert.deepStrictEqual(details[4], { workspace: "ops" })
      assert.deepStrictEqual(details[5]!["requested"], ["segment.default_step", "alerting.webhook_urls"])
      assert.strictEqual(details[5]!["source"], "api")
      assert.includeMembers(details[5]!["applied"], ["segment.default_step"])
      assert.strictEqual(details[6]!["source"], "file")
      assert.deepStrictEqual(details[7], { reason: "drill" })
      assert.strictEqual(details[9]!["failureThreshold"], 7)

      // No secret anywhere: not the new key, not the admin token, not a config value that may hold one.
      const text = (yield* Effect.flatMap(Effect.service(SqlClient.SqlClient), (sql) =>
        sql<{ row: string }>`SELECT audit_log::text AS row FROM audit_log`).pipe(Effect.orDie)).map((r) => r.row).join("\n")
      assert.include(text, key.prefix)
      for (const secret of [key.key, key.key.slice(-32), ADMIN_TOKEN, webhookSecret]) assert.notInclude(text, secret)
    }))

  it.effect("failed admin authentication is audited, and a flood of it is sampled like bad API keys", () =>
    Effect.gen(function*() {
      const server = yield* Node
      const wrongToken = "not-the-admin-token-4711"
      assert.strictEqual((yield* server.request("GET", "/api/v1/admin/workspaces", { admin: wrongToken })).status, 401)
      assert.strictEqual((yield* server.request("POST", "/api/v1/admin/workspaces", { json: { name: "nope" } })).status, 401)
      const first = yield* rowsWhen({ eventType: "key_use_failure" }, (rows) => rows.length >= 2, "2 admin auth failures")
      assert.strictEqual(first.length, 2, JSON.stringify(first))
      assert.deepInclude(first[0]!, { actor: fingerprint(wrongToken), action: "verify_admin_token", resource: "admin_token", result: "failure", node: nodeName })
      assert.deepInclude(first[0]!.metadata, { reason: "invalid", endpoint: "listWorkspaces" })
      assert.isString(first[0]!.metadata["remote_address"])
      assert.deepInclude(first[1]!, { actor: null, action: "verify_admin_token", resource: "admin_token", result: "failure" })
      assert.deepInclude(first[1]!.metadata, { reason: "missing", endpoint: "createWorkspace" })
      assert.notInclude(JSON.stringify(first), wrongToken)

      const flood = 600
      const started = Date.now()
      yield* Effect.forEach(Array.from({ length: flood }, (_, i) => i), (i) =>
        Effect.map(
          server.request("GET", "/api/v1/admin/config", { admin: `guess-${i}` }),
          (res) => assert.strictEqual(res.status, 401)
        ), { concurrency: 16, discard: true })
      const elapsedSeconds = (Date.now() - started) / 1000

      const single = (rows: ReadonlyArray<AuditRow>) => rows.filter((row) => row.action === "verify_admin_token")
      const summarized = (rows: ReadonlyArray<AuditRow>) =>
        rows.filter((row) => row.action === "verify_admin_token_suppressed").reduce((n, row) => n + row.metadata["count"], 0)
      const total = flood + first.length
      const rows = yield* rowsWhen({ eventType: "key_use_failure" }, (rows) => single(rows).length + summarized(rows) >= total, `${total} failures accounted for`)
      assert.strictEqual(single(rows).length + summarized(rows), total)
      // A burst of 100, then 10 a second (plus the summaries' own interval of slack).
      assert.isAtMost(single(rows).length, 100 + 10 * (Math.ceil(elapsedSeconds) + 1), `${elapsedSeconds} s`)
      assert.isAbove(summarized(rows), 0)
      for (const row of rows.filter((row) => row.action === "verify_admin_token_suppressed")) {
        assert.deepInclude(row, { event_type: "key_use_failure", actor: null, resource: "admin_token", result: "failure" })
        assert.strictEqual(row.metadata["count"], row.metadata["by_reason"]["invalid"])
      }
    }))

  it.effect("the retention sweep removes aged operator rows and keeps recent ones", () =>
    Effect.gen(function*() {
      const server = yield* Node
      const sql = yield* SqlClient.SqlClient
      const recent = yield* rowsOf({ eventType: "operator" })
      assert.isAbove(recent.length, 0)
      // An operator row past the default retention of 90 days; the sweep runs at start, then hourly.
      yield* sql`INSERT INTO audit_log (occurred_at, event_type, actor, action, resource, result, node, metadata)
        SELECT now() - interval '91 days', event_type, actor, action, 'workspace:aged', result, node, metadata
        FROM audit_log WHERE id = ${recent[0]!.id}::bigint`.pipe(Effect.orDie)
      assert.strictEqual((yield* rowsOf({ eventType: "operator" })).length, recent.length + 1)
      yield* server.restart
      const kept = yield* rowsWhen({ eventType: "operator" }, (rows) => rows.every((row) => row.resource !== "workspace:aged"), "the aged row swept")
      assert.deepStrictEqual(kept.map((row) => row.id), recent.map((row) => row.id))
    }))
})
