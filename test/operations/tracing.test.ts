/**
 * Traces of a real server process exported over OTLP (`OTEL_EXPORTER_OTLP_ENDPOINT`) to an
 * in-memory collector: one server span per HTTP request — on the generate fast path and on
 * the router path — continuing the caller's W3C `traceparent`, with the service's spans
 * (tag resolution, repositories, SQL statements) as its descendants; segment refills as
 * traces of their own; parent-based sampling; and no export at all without an endpoint.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { randomBytes } from "node:crypto"
import * as OtlpCollector from "../support/OtlpCollector.ts"
import { createBizTag, make as startServer, workspaceWithKey } from "../support/ServerProcess.ts"
import * as TestDatabase from "../support/TestDatabase.ts"

const hex = (bytes: number) => randomBytes(bytes).toString("hex")

/** A SQL statement's span (named after the database by the PostgreSQL client). */
const isSql = (span: OtlpCollector.CollectedSpan) => span.attributes["db.system.name"] === "postgresql"

/** Every span of `traceId` reachable from `rootId` through parent links. */
const descendants = (spans: ReadonlyArray<OtlpCollector.CollectedSpan>, rootId: string) => {
  const out: Array<OtlpCollector.CollectedSpan> = []
  const walk = (id: string) => {
    for (const span of spans) {
      if (span.parentSpanId === id) {
        out.push(span)
        walk(span.spanId)
      }
    }
  }
  walk(rootId)
  return out
}

layer(Layer.empty, { timeout: "180 seconds", excludeTestServices: true })("traces over OTLP", (it) => {
  it.effect("request span trees continue the caller's traceparent on both HTTP paths", () =>
    Effect.gen(function*() {
      const collector = yield* OtlpCollector.make
      const server = yield* startServer(yield* TestDatabase.make, {
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint, OTEL_SERVICE_NAME: "idgen-test" }
      })

      // Router path (operator API): the server span continues the caller's trace.
      const adminTrace = hex(16)
      const adminParent = hex(8)
      const created = yield* server.request("POST", "/api/v1/admin/workspaces", {
        admin: true,
        json: { name: "traced" },
        headers: { traceparent: `00-${adminTrace}-${adminParent}-01` }
      })
      assert.strictEqual(created.status, 201, created.text)
      const adminServer = yield* collector.waitFor((spans) =>
        spans.find((s) => s.traceId === adminTrace && s.kind === 2)
      )
      assert.strictEqual(adminServer.parentSpanId, adminParent)
      assert.strictEqual(adminServer.attributes["http.request.method"], "POST")
      assert.strictEqual(adminServer.attributes["http.response.status_code"], 201)
      assert.strictEqual(adminServer.resource["service.name"], "idgen-test")
      const adminChildren = yield* collector.waitFor((spans) => {
        const below = descendants(spans, adminServer.spanId)
        return below.some((s) => s.name === "WorkspaceRepo.create") && below.some(isSql)
          ? below
          : undefined
      })
      const create = adminChildren.find((s) => s.name === "WorkspaceRepo.create")!
      assert.strictEqual(create.parentSpanId !== "", true)
      const sql = adminChildren.find(isSql)!
      assert.strictEqual(sql.traceId, adminTrace)
      assert.isString(sql.attributes["db.query.text"] ?? sql.attributes["db.statement"])

      // Fast path (generate): the same shape of server span, and the resolution beneath it.
      const apiKey = yield* workspaceWithKey(server, { name: "fast" })
      yield* createBizTag(server, "fast", { group: "g", name: "t", algorithm: "segment" })
      const trace = hex(16)
      const parent = hex(8)
      const generated = yield* server.request("POST", "/api/v1/generate", {
        apiKey,
        json: { workspace: "fast", group: "g", biz_tag: "t" },
        headers: { traceparent: `00-${trace}-${parent}-01` }
      })
      assert.strictEqual(generated.status, 200, generated.text)
      const generateSpan = yield* collector.waitFor((spans) => spans.find((s) => s.traceId === trace && s.kind === 2))
      assert.strictEqual(generateSpan.name, "POST /api/v1/generate")
      assert.strictEqual(generateSpan.parentSpanId, parent)
      assert.strictEqual(generateSpan.attributes["http.response.status_code"], 200)
      assert.strictEqual(generateSpan.attributes["http.route"], "/api/v1/generate")
      const below = yield* collector.waitFor((spans) => {
        const found = descendants(spans, generateSpan.spanId)
        return found.some((s) => s.name === "TagResolver.load") && found.some(isSql) ? found : undefined
      })
      const resolve = below.find((s) => s.name === "TagResolver.load")!
      assert.strictEqual(resolve.parentSpanId, generateSpan.spanId, "a direct child of the request span")
      assert.isTrue(below.every((s) => s.traceId === trace))
      assert.isTrue(below.some((s) => s.name === "BizTagRepo.find"))

      // Segment refills are traces of their own, with the allocation transaction inside.
      const refill = yield* collector.waitFor((spans) =>
        spans.find((s) => s.name === "SegmentGenerator.refill" && s.attributes["idgen.biz_tag"] === "t")
      )
      assert.strictEqual(refill.parentSpanId, "", "a root span")
      yield* collector.waitFor((spans) => descendants(spans, refill.spanId).find((s) => s.name === "SegmentRepo.allocate"))

      // A failing request: the span records the status, 4xx is not a span error.
      const unknown = yield* server.request("POST", "/api/v1/generate", {
        apiKey: `idgen_fast_${"0".repeat(32)}`,
        json: { workspace: "fast", group: "g", biz_tag: "t" },
        headers: { traceparent: `00-${hex(16)}-${hex(8)}-01` }
      })
      assert.strictEqual(unknown.status, 401)
      const refused = yield* collector.waitFor((spans) =>
        spans.find((s) => s.kind === 2 && s.attributes["http.response.status_code"] === 401)
      )
      assert.notStrictEqual(refused.status.code, 2, "4xx does not mark the server span as an error")
    }).pipe(Effect.scoped))

  it.effect("sampling is parent-based: a caller's sampled traceparent is exported at ratio 0", () =>
    Effect.gen(function*() {
      const collector = yield* OtlpCollector.make
      const server = yield* startServer(yield* TestDatabase.make, {
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint, OTEL_TRACES_SAMPLER_ARG: "0" }
      })
      const apiKey = yield* workspaceWithKey(server, { name: "sampled" })
      const json = { workspace: "sampled", group: "g", biz_tag: "t" }
      for (let i = 0; i < 5; i++) {
        assert.strictEqual((yield* server.request("POST", "/api/v1/generate", { apiKey, json })).status, 200)
      }
      const trace = hex(16)
      yield* server.request("POST", "/api/v1/generate", { apiKey, json, headers: { traceparent: `00-${trace}-${hex(8)}-01` } })
      yield* collector.waitFor((spans) => spans.find((s) => s.traceId === trace && s.kind === 2))
      const generateSpans = collector.spans().filter((s) => s.name === "POST /api/v1/generate")
      assert.deepStrictEqual(generateSpans.map((s) => s.traceId), [trace])
    }).pipe(Effect.scoped))

  it.effect("without OTEL_EXPORTER_OTLP_ENDPOINT nothing is exported", () =>
    Effect.gen(function*() {
      const collector = yield* OtlpCollector.make
      // The collector exists but is not configured: it must stay empty.
      const server = yield* startServer(yield* TestDatabase.make)
      const apiKey = yield* workspaceWithKey(server, { name: "quiet" })
      const res = yield* server.request("POST", "/api/v1/generate", {
        apiKey,
        json: { workspace: "quiet", group: "g", biz_tag: "t" },
        headers: { traceparent: `00-${hex(16)}-${hex(8)}-01` }
      })
      assert.strictEqual(res.status, 200)
      assert.deepStrictEqual(collector.spans(), [])
      assert.notMatch(server.output(), /otlp|exporter/i)
    }).pipe(Effect.scoped))
})
