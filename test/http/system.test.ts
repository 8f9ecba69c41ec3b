/**
 * Probes, metrics, API documentation, unknown routes and restarts of the real server
 * process.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as GrpcClient from "../support/GrpcClient.ts"
import { assertError, ServerProcess, workspaceWithKey } from "../support/ServerProcess.ts"

layer(ServerProcess.layer(), { timeout: "120 seconds", excludeTestServices: true })("HTTP system endpoints", (it) => {
  it.effect("/health, /live, /ready", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const health = yield* server.request("GET", "/health")
      assert.strictEqual(health.status, 200, health.text)
      assert.include(["healthy", "degraded"], health.json.status)
      assert.isObject(health.json.checks)
      for (const check of Object.values<any>(health.json.checks)) {
        assert.include(["healthy", "degraded", "unhealthy"], check.status)
      }
      assert.isString(health.headers.get("x-request-id"))

      const live = yield* server.request("GET", "/live")
      assert.strictEqual(live.status, 200)
      assert.deepStrictEqual(live.json, { status: "live" })

      const ready = yield* server.request("GET", "/ready")
      assert.strictEqual(ready.status, 200)
      assert.deepStrictEqual(ready.json, { status: "ready" })
      assert.isString(ready.headers.get("x-request-id"))
    }))

  it.effect("port 0: the ports the kernel picked are reported (port file, log line) and served", () =>
    Effect.scoped(Effect.gen(function*() {
      // ServerProcess starts the node with IDGEN_HTTP_PORT=0, IDGEN_GRPC_PORT=0 and reads
      // `port` and `grpcPort` from its IDGEN_PORT_FILE.
      const server = yield* ServerProcess
      assert.isAbove(server.port, 0)
      assert.isAbove(server.grpcPort, 0)
      assert.notStrictEqual(server.port, server.grpcPort)
      assert.match(server.output(), new RegExp(`listening\\b.*\\bhttp\\W+${server.port}\\b.*\\bgrpc\\W+${server.grpcPort}\\b`))
      assert.strictEqual((yield* server.request("GET", "/live")).status, 200)
      const grpc = yield* GrpcClient.make(server.grpcPort)
      // Answered by the node's gRPC server (SERVING follows readiness a moment later).
      const health = yield* grpc.healthCheck("")
      assert.isTrue(health.ok, JSON.stringify(health))
    })))

  it.effect("/metrics is Prometheus text", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* workspaceWithKey(server, { name: "metrics" })
      yield* server.request("POST", "/api/v1/generate", { apiKey, json: { workspace: "metrics", group: "g", biz_tag: "t" } })
      const metrics = yield* server.request("GET", "/metrics")
      assert.strictEqual(metrics.status, 200)
      assert.match(metrics.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/)
      for (const line of metrics.text.split("\n").filter((l) => l !== "" && !l.startsWith("#"))) {
        assert.match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? \S+$/, line)
      }
    }))

  it.effect("/openapi.json documents every endpoint, the error body and both security schemes", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const res = yield* server.request("GET", "/openapi.json")
      assert.strictEqual(res.status, 200)
      const spec = res.json
      assert.match(spec.openapi, /^3\./)
      assert.includeMembers(Object.keys(spec.paths), [
        "/api/v1/generate",
        "/api/v1/generate/batch",
        "/api/v1/parse",
        "/api/v1/admin/workspaces",
        "/api/v1/admin/workspaces/{ws}/biz-tags",
        "/api/v1/admin/workspaces/{ws}/biz-tags/{group}/{name}",
        "/api/v1/admin/workspaces/{ws}/api-keys",
        "/api/v1/admin/workspaces/{ws}/api-keys/{id}",
        "/health",
        "/live",
        "/ready"
      ])
      const generate = spec.paths["/api/v1/generate"].post
      assert.includeMembers(Object.keys(generate.responses), ["200", "400", "401", "403", "404", "500", "503"])
      assert.deepStrictEqual(generate.security, [{ apiKey: [] }])
      assert.strictEqual(spec.components.securitySchemes.apiKey.name, "X-API-Key")
      assert.strictEqual(spec.components.securitySchemes.adminToken.scheme, "Bearer")
      assert.deepStrictEqual(Object.keys(spec.components.schemas.ErrorBody.properties), ["error"])
      assert.includeMembers(Object.keys(spec.paths["/api/v1/admin/workspaces"].post.responses), ["201", "400", "401", "409"])
      assert.includeMembers(Object.keys(spec.paths["/api/v1/admin/workspaces/{ws}/api-keys/{id}"].delete.responses), ["204", "404"])
    }))

  it.effect("/docs serves the API reference page", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const res = yield* server.request("GET", "/docs")
      assert.strictEqual(res.status, 200)
      assert.match(res.headers.get("content-type") ?? "", /^text\/html/)
      assert.include(res.text, "<html")
    }))

  it.effect("unknown routes and methods: 404 IDGEN-COMMON-0007 with the error body", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      for (const [method, path] of [
        ["GET", "/nope"],
        ["GET", "/api/v1/generate"],
        ["POST", "/api/v2/generate"],
        ["DELETE", "/api/v1/admin/workspaces"],
        ["GET", "/api/v1/admin/workspaces/x/api-keys/y"]
      ] as const) {
        const res = yield* server.request(method, path, { headers: { "x-request-id": "probe-1" } })
        const error = assertError(res, 404, "IDGEN-COMMON-0007")
        assert.strictEqual(error.request_id, "probe-1")
      }
    }))

  it.effect("restart after SIGKILL: segment ids are never reissued", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* workspaceWithKey(server, { name: "restart" })
      const json = { workspace: "restart", group: "g", biz_tag: "t", size: 20 }
      const before = yield* server.request("POST", "/api/v1/generate/batch", { apiKey, json })
      assert.strictEqual(before.status, 200, before.text)
      const pid = server.pid()
      const exit = yield* server.kill("SIGKILL")
      assert.strictEqual(exit, "SIGKILL")
      yield* server.restart
      assert.notStrictEqual(server.pid(), pid)
      const after = yield* server.request("POST", "/api/v1/generate/batch", { apiKey, json })
      assert.strictEqual(after.status, 200, after.text)
      const last = BigInt(before.json.ids.at(-1))
      assert.isTrue(after.json.ids.every((id: string) => BigInt(id) > last), `${after.json.ids[0]} after ${last}`)
    }))
})
