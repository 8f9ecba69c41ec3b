/**
 * End to end through a real database outage (the suite's own PostgreSQL): a segment
 * biz_tag with fallback [snowflake] keeps answering 200 — buffered segment IDs first, then
 * snowflake — while PostgreSQL is stopped; `/health` shows the degradation; once the
 * database is back the manager recovers segment by itself and the `algorithm` field says
 * segment again. No duplicate across the run; the transitions land in the audit log.
 */
import { assert, describe, layer } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { OwnPostgres } from "../support/OwnPostgres.ts"
import * as ServerProcess from "../support/ServerProcess.ts"

// Small segments that stay small (the dynamic step would otherwise grow with the request
// rate and buffer minutes of IDs), so the buffer runs dry within the test.
const configFile = join(mkdtempSync(join(tmpdir(), "idgen-fallback-")), "idgen.toml")
writeFileSync(configFile, "[segment]\nmax_step = 50\ntarget_segment_seconds = 1\n")

const env = {
  IDGEN_CONFIG: configFile,
  IDGEN_SEGMENT_STEP: "50",
  IDGEN_DEGRADATION_PROBE_INTERVAL_MS: "200",
  IDGEN_DEGRADATION_MIN_UNHEALTHY_MS: "1000",
  IDGEN_DEGRADATION_FAILURE_THRESHOLD: "2",
  IDGEN_DEGRADATION_RECOVERY_THRESHOLD: "2",
  // With PostgreSQL down the static worker id's reserved window is not extended, and once it
  // runs out snowflake refuses (IDGEN-SNOW-2003): wide enough for the outage's requests to
  // take their time on a loaded machine (by default 10 s, of which only about half may be left).
  IDGEN_SNOWFLAKE_CEILING_WINDOW_MS: "60000"
}

describe("degradation end to end", () => {
  layer(OwnPostgres.layer, { excludeTestServices: true, timeout: 120_000 })((it) => {
    it.effect("segment → snowflake while PostgreSQL is down, and back to segment after it returns", () =>
      Effect.gen(function*() {
        const pg = yield* OwnPostgres
        const server = yield* ServerProcess.make(pg.url, { env })
        const apiKey = yield* ServerProcess.workspaceWithKey(server, { name: "fb" })
        yield* ServerProcess.createBizTag(server, "fb", { group: "g", name: "orders", algorithm: "segment", fallback: ["snowflake"], step: 50 })

        const seen = new Set<string>()
        const algorithms: Array<string> = []
        const generate = Effect.gen(function*() {
          const res = yield* server.request("POST", "/api/v1/generate", { apiKey, json: { workspace: "fb", group: "g", biz_tag: "orders" } })
          assert.strictEqual(res.status, 200, res.text)
          assert.isFalse(seen.has(res.json.id), `duplicate id ${res.json.id}`)
          seen.add(res.json.id)
          if (algorithms.at(-1) !== res.json.algorithm) algorithms.push(res.json.algorithm)
          return res.json.algorithm as string
        })
        /** Generates until `algorithm` answers (bounded: the deadline is generous, not a timing assertion). */
        const until = (algorithm: string, deadlineMs: number) =>
          Effect.gen(function*() {
            const deadline = Date.now() + deadlineMs
            while ((yield* generate) !== algorithm) {
              if (Date.now() > deadline) assert.fail(`no ${algorithm} id within ${deadlineMs} ms; saw ${algorithms.join(" → ")}`)
            }
          })

        yield* until("segment", 10_000)
        for (let i = 0; i < 20; i++) yield* generate

        yield* pg.stop
        yield* Effect.addFinalizer(() => Effect.ignore(pg.start))
        yield* until("snowflake", 30_000)
        // Segment goes out once its failures are consecutive (buffered takes reset them).
        let health = yield* server.request("GET", "/health")
        for (let i = 0; i < 200 && !String(health.json.checks.degradation.message).includes("segment"); i++) {
          yield* generate
          health = yield* server.request("GET", "/health")
        }
        assert.strictEqual(health.json.checks.degradation.status, "degraded", health.text)
        assert.include(health.json.checks.degradation.message, "segment")

        yield* pg.start
        yield* until("segment", 60_000)
        for (let i = 0; i < 20; i++) yield* generate
        assert.deepStrictEqual(algorithms.slice(0, 3), ["segment", "snowflake", "segment"])

        const state = yield* server.request("GET", "/api/v1/admin/degradation", { admin: true })
        assert.strictEqual(state.status, 200, state.text)
        assert.strictEqual(state.json.algorithms.segment.status, "healthy")

        // The audit writer retries while the database is down; poll until it caught up.
        const rows = yield* Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          for (let attempt = 0; attempt < 100; attempt++) {
            const found = yield* sql<{ action: string }>`SELECT action FROM audit_log WHERE event_type = 'degradation' AND resource = 'algorithm:segment' ORDER BY id`
            if (found.some((r) => r.action === "recover")) return found.map((r) => r.action)
            yield* ServerProcess.wait(100)
          }
          return []
        }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(pg.url), maxConnections: 1 })))
        assert.includeMembers(rows, ["degrade", "recover"])
      }).pipe(Effect.scoped), { timeout: 120_000 })

    it.effect("operator endpoints: degrade segment → snowflake answers; recover → segment again", () =>
      Effect.gen(function*() {
        const pg = yield* OwnPostgres
        const server = yield* ServerProcess.make(pg.url, { env })
        const apiKey = yield* ServerProcess.workspaceWithKey(server, { name: "op" })
        yield* ServerProcess.createBizTag(server, "op", { group: "g", name: "t", algorithm: "segment", fallback: ["snowflake"], step: 5 })
        const generate = Effect.map(
          server.request("POST", "/api/v1/generate", { apiKey, json: { workspace: "op", group: "g", biz_tag: "t" } }),
          (res) => {
            assert.strictEqual(res.status, 200, res.text)
            return res.json.algorithm as string
          }
        )
        assert.strictEqual(yield* generate, "segment")
        const degraded = yield* server.request("POST", "/api/v1/admin/degradation/segment/degrade", { admin: true, json: { reason: "drill" } })
        assert.strictEqual(degraded.status, 200, degraded.text)
        assert.strictEqual(degraded.json.mode, "Degraded")
        assert.isTrue(degraded.json.algorithms.segment.manual)
        // The numbers this node has buffered go first (at most two segments of ≤ 50), then snowflake.
        let algorithm = yield* generate
        for (let i = 0; i < 200 && algorithm === "segment"; i++) algorithm = yield* generate
        assert.strictEqual(algorithm, "snowflake")
        const unauthorized = yield* server.request("POST", "/api/v1/admin/degradation/segment/recover")
        ServerProcess.assertError(unauthorized, 401, "IDGEN-COMMON-0002")
        const recovered = yield* server.request("POST", "/api/v1/admin/degradation/segment/recover", { admin: true })
        assert.strictEqual(recovered.json.mode, "Normal")
        assert.strictEqual(yield* generate, "segment")
        const patched = yield* server.request("PATCH", "/api/v1/admin/degradation/thresholds", { admin: true, json: { failure_threshold: 7 } })
        assert.strictEqual(patched.status, 200, patched.text)
        assert.strictEqual(patched.json.thresholds.failure_threshold, 7)
        ServerProcess.assertError(
          yield* server.request("PATCH", "/api/v1/admin/degradation/thresholds", { admin: true, json: { failure_threshold: 0 } }),
          400,
          "IDGEN-COMMON-0001"
        )
      }).pipe(Effect.scoped))
  })
})
