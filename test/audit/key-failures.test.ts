/**
 * The audit log of failed key use, read straight from the `audit_log` table
 * of two real server processes sharing a database: an unknown, a revoked, an expired and a
 * malformed key each leave a row — over HTTP and over gRPC alike — naming the key by its
 * public prefix only; and a flood of bad keys is sampled: a bounded number of rows of its
 * own plus summary rows that account for every failure.
 */
import { status as Status } from "@grpc/grpc-js"
import { PgClient } from "@effect/sql-pg"
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer, Redacted } from "effect"
import * as GrpcClient from "../support/GrpcClient.ts"
import { assertError, make, type ServerProcessShape, wait } from "../support/ServerProcess.ts"
import { type AuditRow, rowsWhen } from "../support/AuditRows.ts"
import * as TestDatabase from "../support/TestDatabase.ts"

class Nodes extends Context.Service<Nodes, { readonly a: ServerProcessShape; readonly b: ServerProcessShape }>()(
  "test/audit/Nodes"
) {}

const Suite = Layer.unwrap(Effect.gen(function*() {
  const databaseUrl = yield* TestDatabase.make.pipe(Effect.orDie)
  const a = yield* make(databaseUrl, { env: { IDGEN_NODE_NAME: "audit-a" } })
  // Node b takes the flood from one address: its failed-attempt limit (which would answer
  // most of it 429 before any lookup, `test/auth/failed-auth.test.ts`) is raised above it.
  const b = yield* make(databaseUrl, {
    env: { IDGEN_NODE_NAME: "audit-b", IDGEN_WORKER_ID: "1", IDGEN_AUTH_FAILED_PER_IP_BURST: "1000" }
  })
  return Layer.merge(
    Layer.succeed(Nodes, { a, b }),
    PgClient.layer({ url: Redacted.make(databaseUrl), maxConnections: 1 })
  )
}))

const seq = { workspace: "aud", group: "g", biz_tag: "t" }

layer(Suite, { excludeTestServices: true, timeout: 120_000 })("audit of failed key use", (it) => {
  it.effect("unknown, revoked, expired and malformed keys are audited over HTTP and gRPC, by prefix only", () =>
    Effect.gen(function*() {
      const { a } = yield* Nodes
      const grpc = yield* GrpcClient.make(a.grpcPort)
      const created = yield* a.request("POST", "/api/v1/admin/workspaces", { admin: true, json: { name: "aud" } })
      assert.strictEqual(created.status, 201, created.text)
      const newKey = (json: Record<string, unknown>) =>
        Effect.map(a.request("POST", "/api/v1/admin/workspaces/aud/api-keys", { admin: true, json }), (res) => {
          assert.strictEqual(res.status, 201, res.text)
          return res.json as { id: string; key: string; prefix: string }
        })
      const revoked = yield* newKey({})
      const expiring = yield* newKey({ expires_at: new Date(Date.now() + 3_000).toISOString() })
      for (const key of [revoked, expiring]) {
        assert.strictEqual((yield* a.request("POST", "/api/v1/generate", { apiKey: key.key, json: seq })).status, 200)
      }
      const deleted = yield* a.request("DELETE", `/api/v1/admin/workspaces/aud/api-keys/${revoked.id}`, { admin: true })
      assert.strictEqual(deleted.status, 204, deleted.text)

      const unknownHttp = `idgen_aud_${"1".repeat(32)}`
      const unknownGrpc = `idgen_aud_${"2".repeat(32)}`
      const http401 = (apiKey: string) =>
        Effect.map(a.request("POST", "/api/v1/generate", { apiKey, json: seq }), (res) => assertError(res, 401, "IDGEN-COMMON-0002"))
      const grpc401 = (apiKey: string) =>
        Effect.map(grpc.call("Generate", seq, { apiKey }), (reply) =>
          GrpcClient.assertStatus(reply, Status.UNAUTHENTICATED, "IDGEN-COMMON-0002"))

      yield* http401(unknownHttp)
      yield* grpc401(unknownGrpc)
      yield* http401(revoked.key)
      yield* grpc401(revoked.key)
      yield* http401("not-a-key")
      yield* grpc401("not-a-key")
      // The expiring key works until its expiry, then is refused (once per interface).
      const deadline = Date.now() + 10_000
      while ((yield* a.request("POST", "/api/v1/generate", { apiKey: expiring.key, json: seq })).status === 200) {
        if (Date.now() > deadline) return assert.fail("the key still works 7 s after its expiry")
        yield* wait(100)
      }
      yield* grpc401(expiring.key)

      const rows = yield* rowsWhen({ eventType: "key_use_failure", node: "audit-a" }, (rows) => rows.length >= 8, "8 key-use failures")
      assert.strictEqual(rows.length, 8, JSON.stringify(rows))
      for (const row of rows) {
        assert.deepInclude(row, { event_type: "key_use_failure", action: "verify_api_key", resource: "api_key", result: "failure", node: "audit-a" })
      }
      const reasonsOf = (actor: string | null) => rows.filter((row) => row.actor === actor).map((row) => row.metadata["reason"])
      assert.deepStrictEqual(reasonsOf(`idgen_aud_${"1".repeat(8)}`), ["unknown"])
      assert.deepStrictEqual(reasonsOf(`idgen_aud_${"2".repeat(8)}`), ["unknown"])
      assert.deepStrictEqual(reasonsOf(revoked.prefix), ["disabled", "disabled"])
      assert.deepStrictEqual(reasonsOf(expiring.prefix), ["expired", "expired"])
      assert.deepStrictEqual(reasonsOf(null), ["malformed", "malformed"])
      // Never the key itself.
      const text = JSON.stringify(rows)
      for (const key of [revoked.key, expiring.key, unknownHttp, unknownGrpc]) assert.notInclude(text, key)
    }))

  it.effect("a flood of bad keys is sampled: bounded rows, and summaries account for every failure", () =>
    Effect.gen(function*() {
      const { b } = yield* Nodes
      const grpc = yield* GrpcClient.make(b.grpcPort)
      const flood = 600
      const started = Date.now()
      yield* Effect.forEach(Array.from({ length: flood }, (_, i) => i), (i) => {
        const apiKey = `idgen_flood_${i.toString(16).padStart(32, "0")}`
        return i % 3 === 0
          ? Effect.map(grpc.call("Generate", seq, { apiKey }), (reply) => assert.isFalse(reply.ok))
          : Effect.map(b.request("POST", "/api/v1/generate", { apiKey, json: seq }), (res) => assert.strictEqual(res.status, 401))
      }, { concurrency: 16, discard: true })
      const elapsedSeconds = (Date.now() - started) / 1000

      const single = (rows: ReadonlyArray<AuditRow>) => rows.filter((row) => row.action === "verify_api_key")
      const summarized = (rows: ReadonlyArray<AuditRow>) =>
        rows.filter((row) => row.action === "verify_api_key_suppressed").reduce((n, row) => n + row.metadata["by_reason"]["unknown"], 0)
      const rows = yield* rowsWhen(
        { eventType: "key_use_failure", node: "audit-b" },
        (rows) => single(rows).length + summarized(rows) >= flood,
        `${flood} failures accounted for`
      )
      assert.strictEqual(single(rows).length + summarized(rows), flood)
      // A burst of 100, then 10 a second (plus the summaries' own interval of slack).
      assert.isAtMost(single(rows).length, 100 + 10 * (Math.ceil(elapsedSeconds) + 1), `${elapsedSeconds} s`)
      assert.isAbove(summarized(rows), 0)
      for (const row of rows.filter((row) => row.action === "verify_api_key_suppressed")) {
        assert.deepInclude(row, { event_type: "key_use_failure", actor: null, resource: "api_key", result: "failure" })
        assert.strictEqual(row.metadata["count"], row.metadata["by_reason"]["unknown"])
        assert.isString(row.metadata["since"])
      }
    }))
})
