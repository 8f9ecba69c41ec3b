/**
 * A real Prometheus scrapes a running idgen: after traffic (IDs on the HTTP fast path, the
 * router path and gRPC, a refused key, a wrong admin token), its query API returns the node's series
 * with the expected labels and values. Also checks the exposition itself: Prometheus
 * naming (units, `_total`), no label that grows with IDs or keys, and `promtool check
 * metrics` (Prometheus' own linter) finding nothing on the page after that traffic.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import { request } from "node:http"
import * as GrpcClient from "../support/GrpcClient.ts"
import * as Prometheus from "../support/Prometheus.ts"
import { createBizTag, ServerProcess, workspaceWithKey } from "../support/ServerProcess.ts"
import { PROMTOOL_BINARY } from "../support/SystemPackages.ts"

/** A chunked request (no Content-Length): the fast path leaves those to the router. */
const chunked = (port: number, path: string, headers: Record<string, string>, body: string) =>
  Effect.callback<number>((resume) => {
    const req = request({ host: "127.0.0.1", port, path, method: "POST", headers: { ...headers, "transfer-encoding": "chunked" } }, (res) => {
      res.resume()
      res.on("end", () => resume(Effect.succeed(res.statusCode ?? 0)))
    })
    req.on("error", (error) => resume(Effect.die(error)))
    req.write(body)
    req.end()
  })

layer(ServerProcess.layer(), { timeout: "180 seconds", excludeTestServices: true })("Prometheus scrapes idgen", (it) => {
  it.effect("the query API returns the node's series after traffic", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* workspaceWithKey(server, { name: "prom" })
      yield* createBizTag(server, "prom", { group: "g", name: "orders", algorithm: "segment", step: 100 })
      yield* createBizTag(server, "prom", { group: "g", name: "flakes", algorithm: "snowflake" })
      const body = (bizTag: string) => ({ workspace: "prom", group: "g", biz_tag: bizTag })
      for (let i = 0; i < 20; i++) {
        const res = yield* server.request("POST", "/api/v1/generate", { apiKey, json: body("orders") })
        assert.strictEqual(res.status, 200, res.text)
      }
      const batch = yield* server.request("POST", "/api/v1/generate/batch", { apiKey, json: { ...body("orders"), size: 50 } })
      assert.strictEqual(batch.status, 200, batch.text)
      yield* server.request("POST", "/api/v1/generate", { apiKey, json: body("flakes") })
      // The router path counts the same.
      const routed = yield* chunked(server.port, "/api/v1/generate", {
        "content-type": "application/json",
        "x-api-key": apiKey
      }, JSON.stringify(body("orders")))
      assert.strictEqual(routed, 200)
      const refused = yield* server.request("POST", "/api/v1/generate", { apiKey: `idgen_prom_${"0".repeat(32)}`, json: body("orders") })
      assert.strictEqual(refused.status, 401)
      // The same series for the gRPC interface.
      const grpc = yield* GrpcClient.make(server.grpcPort)
      const viaGrpc = yield* grpc.call("BatchGenerate", { ...body("orders"), size: 5 }, { apiKey })
      assert.isTrue(viaGrpc.ok, JSON.stringify(viaGrpc))
      const badAdmin = yield* server.request("GET", "/api/v1/admin/workspaces", { admin: "not-the-token-0123456789" })
      assert.strictEqual(badAdmin.status, 401)

      const prometheus = yield* Prometheus.start({ targets: [`127.0.0.1:${server.port}`] })
      const one = (result: ReadonlyArray<Prometheus.QueryResult>) => Number(result[0]?.value[1] ?? Number.NaN)

      const segmentIds = yield* prometheus.waitFor(
        `idgen_ids_generated_total{interface="http",algorithm="segment"}`,
        (r) => one(r) >= 71
      )
      assert.strictEqual(one(segmentIds), 71, "20 singles + a batch of 50 + 1 routed")
      assert.strictEqual(segmentIds[0]!.metric.job, "idgen")

      const grpcIds = yield* prometheus.query(`idgen_ids_generated_total{interface="grpc",algorithm="segment"}`)
      assert.strictEqual(one(grpcIds), 5)
      const grpcLatency = yield* prometheus.query(`idgen_request_duration_seconds_count{interface="grpc",outcome="success"}`)
      assert.strictEqual(one(grpcLatency), 1)

      const snowflake = yield* prometheus.query(`sum(idgen_ids_generated_total{algorithm="snowflake"})`)
      assert.strictEqual(one(snowflake), 1)

      const latency = yield* prometheus.query(
        `sum(idgen_request_duration_seconds_count{interface="http",algorithm="segment",outcome="success"})`
      )
      assert.strictEqual(one(latency), 22)
      const buckets = yield* prometheus.query(
        `idgen_request_duration_seconds_bucket{interface="http",algorithm="segment",outcome="success",le="+Inf"}`
      )
      assert.strictEqual(one(buckets), 22)
      const p99 = yield* prometheus.query(
        `histogram_quantile(0.99, sum by (le) (idgen_request_duration_seconds_bucket{outcome="success"}))`
      )
      assert.isTrue(one(p99) > 0 && one(p99) < 5, `p99 ${one(p99)}`)

      const errors = yield* prometheus.query(`idgen_request_errors_total{interface="http",code="IDGEN-COMMON-0002"}`)
      assert.strictEqual(one(errors), 1)
      const authApiKey = yield* prometheus.query(`idgen_auth_failures_total{credential="api_key",reason="unknown"}`)
      assert.strictEqual(one(authApiKey), 1)
      const authAdmin = yield* prometheus.query(`idgen_auth_failures_total{credential="admin_token",reason="invalid"}`)
      assert.strictEqual(one(authAdmin), 1)

      const tag = `workspace="prom",group="g",biz_tag="orders"`
      const loads = yield* prometheus.query(`idgen_segment_loads_total{${tag}}`)
      assert.isAtLeast(one(loads), 1)
      const step = yield* prometheus.query(`idgen_segment_step{${tag}}`)
      assert.isAtLeast(one(step), 100)
      const buffered = yield* prometheus.query(`idgen_segment_buffered_ids{${tag}}`)
      assert.isAtLeast(one(buffered), 0)
      const fill = yield* prometheus.query(`idgen_segment_buffer_fill_ratio{${tag}}`)
      assert.isTrue(one(fill) >= 0 && one(fill) <= 2)
      const ratio = yield* prometheus.query(`idgen_segment_range_remaining_ratio{${tag}}`)
      assert.isTrue(one(ratio) > 0.99 && one(ratio) < 1, `ratio ${one(ratio)}`)
      const refill = yield* prometheus.query(`idgen_segment_refill_duration_seconds_count{algorithm="segment"}`)
      assert.strictEqual(one(refill), one(loads))

      // The snowflake side's gauges (SnowflakeMetrics) are on the same page.
      const held = yield* prometheus.query("idgen_snowflake_worker_id_held")
      assert.strictEqual(one(held), 1)
      const health = yield* prometheus.waitFor("idgen_health_status")
      assert.include([0, 1], one(health))
    }).pipe(Effect.scoped))

  it.effect("the exposition follows Prometheus conventions with bounded labels", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const text = (yield* server.request("GET", "/metrics")).text
      const families = new Map<string, string>()
      for (const line of text.split("\n")) {
        const m = /^# TYPE (\S+) (\S+)$/.exec(line)
        if (m !== null) families.set(m[1]!, m[2]!)
      }
      assert.isAbove(families.size, 10)
      for (const [name, type] of families) {
        if (!name.startsWith("idgen_")) continue
        assert.match(name, /^[a-z][a-z0-9_]*$/, name)
        if (type === "counter") assert.match(name, /_total$/, `counter ${name} must end in _total`)
        if (type !== "counter") assert.notMatch(name, /_total$/, `${name} is a ${type}`)
        if (/duration|latency/.test(name)) assert.match(name, /_seconds$/, `${name}: durations are in seconds`)
      }
      // Label names that would carry an ID, a key or a request id never appear.
      const labelNames = new Set([...text.matchAll(/[{,]([a-zA-Z_][a-zA-Z0-9_]*)="/g)].map((m) => m[1]!))
      for (const forbidden of ["id", "request_id", "api_key", "key", "trace_id", "ip"]) {
        assert.isFalse(labelNames.has(forbidden), `label ${forbidden}`)
      }
    }))

  // After the first test's traffic: counters, histograms and per-biz_tag series are on the page.
  it.effect("promtool check metrics finds nothing to complain about on a live node's page", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const page = yield* server.request("GET", "/metrics")
      assert.strictEqual(page.status, 200)
      assert.include(page.text, "idgen_segment_loads_total{")
      const lint = spawnSync(PROMTOOL_BINARY, ["check", "metrics"], { input: page.text, encoding: "utf8" })
      assert.strictEqual(`${lint.stdout}${lint.stderr}`, "", "promtool check metrics output")
      assert.strictEqual(lint.status, 0)
    }))
})
