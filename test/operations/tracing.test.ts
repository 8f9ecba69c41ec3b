/**
 * Traces of a real server process exported over OTLP (`OTEL_EXPORTER_OTLP_ENDPOINT`) to an
 * in-memory collector: one server span per HTTP request — on the generate fast path and on
 * the router path — continuing the caller's W3C `traceparent`, with the service's spans
 * (tag resolution, repositories, SQL statements) as its descendants; segment refills as
 * traces of their own; parent-based sampling; and no export at all without an endpoint.
 * gRPC calls continue a `traceparent` metadata entry and Effect RPC calls the trace context
 * the typed client sends in its messages, each as one server span with the same children.
 */
import { assert, layer } from "@effect/vitest"
import { IdgenClient } from "@idgen/client"
import { Context, Effect, Layer, Tracer } from "effect"
import { randomBytes } from "node:crypto"
import * as GrpcClient from "../support/GrpcClient.ts"
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

  it.effect("gRPC metadata traceparent and Effect RPC trace context give server spans under the caller's", () =>
    Effect.gen(function*() {
      const collector = yield* OtlpCollector.make
      const server = yield* startServer(yield* TestDatabase.make, {
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint }
      })
      const apiKey = yield* workspaceWithKey(server, { name: "rpcs" })

      // gRPC: `traceparent` as a metadata entry, as OpenTelemetry's gRPC instrumentations send it.
      yield* createBizTag(server, "rpcs", { group: "g", name: "grpc", algorithm: "segment" })
      const grpc = yield* GrpcClient.make(server.grpcPort)
      const trace = hex(16)
      const parent = hex(8)
      const reply = yield* grpc.call("BatchGenerate", { workspace: "rpcs", group: "g", biz_tag: "grpc", size: 10 }, {
        apiKey,
        metadata: { traceparent: `00-${trace}-${parent}-01`, tracestate: "vendor=1" }
      })
      assert.isTrue(reply.ok, JSON.stringify(reply))
      const grpcSpan = yield* collector.waitFor((spans) => spans.find((s) => s.traceId === trace && s.kind === 2))
      assert.strictEqual(grpcSpan.name, "grpc idgen.v1.IdService/BatchGenerate")
      assert.strictEqual(grpcSpan.parentSpanId, parent)
      assert.strictEqual(grpcSpan.attributes["rpc.system"], "grpc")
      assert.strictEqual(grpcSpan.attributes["rpc.service"], "idgen.v1.IdService")
      assert.strictEqual(grpcSpan.attributes["rpc.method"], "BatchGenerate")
      assert.strictEqual(grpcSpan.attributes["rpc.grpc.status_code"], 0)
      const grpcBelow = yield* collector.waitFor((spans) => {
        const found = descendants(spans, grpcSpan.spanId)
        return found.some((s) => s.name === "TagResolver.load") && found.some(isSql) ? found : undefined
      })
      assert.strictEqual(grpcBelow.find((s) => s.name === "TagResolver.load")!.parentSpanId, grpcSpan.spanId)
      assert.isTrue(grpcBelow.every((s) => s.traceId === trace))

      // A refused gRPC call: the status is recorded, a caller's mistake is not a span error.
      const refusedTrace = hex(16)
      const refused = yield* grpc.call("Generate", { workspace: "rpcs", group: "g", biz_tag: "grpc" }, {
        apiKey: `idgen_rpcs_${"0".repeat(32)}`,
        metadata: { traceparent: `00-${refusedTrace}-${hex(8)}-01` }
      })
      assert.isFalse(refused.ok)
      const refusedSpan = yield* collector.waitFor((spans) =>
        spans.find((s) => s.traceId === refusedTrace && s.kind === 2)
      )
      assert.strictEqual(refusedSpan.attributes["rpc.grpc.status_code"], 16)
      assert.notStrictEqual(refusedSpan.status.code, 2)

      // Effect RPC through the typed client: its client span (recorded here, under a parent of
      // ours) travels in the request message and becomes the server span's parent.
      yield* createBizTag(server, "rpcs", { group: "g", name: "rpc", algorithm: "segment" })
      const clientSpans: Array<Tracer.Span> = []
      const recording = Tracer.make({
        span(options) {
          const span = Tracer.nativeTracer.span(options)
          clientSpans.push(span)
          return span
        }
      })
      const idgen = Context.get(
        yield* Layer.build(IdgenClient.layer({ endpoints: [server.baseUrl], apiKey, transport: "websocket" })),
        IdgenClient
      )
      const rpcTrace = hex(16)
      const batch = yield* idgen.batch("rpcs/g/rpc", 10).pipe(
        Effect.withParentSpan(Tracer.externalSpan({ traceId: rpcTrace, spanId: hex(8), sampled: true })),
        Effect.withTracer(recording)
      )
      assert.strictEqual(batch.ids.length, 10)
      const rpcClientSpan = clientSpans.find((s) => s.traceId === rpcTrace && s.kind === "client")
      assert.isDefined(rpcClientSpan, clientSpans.map((s) => `${s.name}/${s.kind}`).join(", "))
      const rpcSpan = yield* collector.waitFor((spans) => spans.find((s) => s.traceId === rpcTrace && s.kind === 2))
      assert.strictEqual(rpcSpan.name, "rpc IdRpcs.BatchGenerate")
      assert.strictEqual(rpcSpan.parentSpanId, rpcClientSpan!.spanId)
      assert.strictEqual(rpcSpan.attributes["rpc.method"], "BatchGenerate")
      const rpcBelow = yield* collector.waitFor((spans) => {
        const found = descendants(spans, rpcSpan.spanId)
        return found.some((s) => s.name === "TagResolver.load") && found.some(isSql) ? found : undefined
      })
      assert.strictEqual(rpcBelow.find((s) => s.name === "TagResolver.load")!.parentSpanId, rpcSpan.spanId)
      assert.isTrue(rpcBelow.every((s) => s.traceId === rpcTrace))
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
