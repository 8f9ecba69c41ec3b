/**
 * In-process checks of what the black-box suites cannot provoke: a defect (an unexpected
 * failure inside a handler or a generator) is answered 500 IDGEN-COMMON-0004 with the
 * error body and no detail of the cause, on the router/HttpApi path and on the generate
 * fast path alike.
 */
import { assert, describe, it } from "@effect/vitest"
import { DegradationFsm, Errors, type Names } from "@idgen/core"
import { Effect, Layer, Logger } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { createServer } from "node:http"
import { AlertEvaluator } from "@idgen/server/alerting/AlertEvaluator"
import { AuditLog } from "@idgen/server/audit/AuditLog"
import { AuditQuery } from "@idgen/server/audit/AuditQuery"
import { AdminToken } from "@idgen/server/auth/AdminToken"
import { LiveConfig } from "@idgen/server/config/HotReload"
import { ApiKeys } from "@idgen/server/auth/ApiKeys"
import { ServerConfig, type ServerConfigShape } from "@idgen/server/config/ServerConfig"
import { IdService } from "@idgen/server/generate/IdService"
import { Health } from "@idgen/server/health/Health"
import * as IdsFastPath from "@idgen/server/http/IdsFastPath"
import { layerRoutes } from "@idgen/server/http/HttpServer"
import { RateLimiter } from "@idgen/server/ratelimit/RateLimiter"
import { Admission } from "@idgen/server/requests/Admission"
import { IdRequests } from "@idgen/server/requests/IdRequests"
import { ApiKeyRepo } from "@idgen/server/storage/ApiKeyRepo"
import { DegradationManager } from "@idgen/server/degradation/DegradationManager"
import { BizTags } from "@idgen/server/tenancy/BizTags"
import { Workspaces } from "@idgen/server/tenancy/Workspaces"

const apiKey = `idgen_ws_${"a".repeat(32)}`

const generateStub = (key: Names.SequenceKey) =>
  key.bizTag === "boom"
    ? Effect.die(new Error("kaboom: secret internals"))
    : Effect.succeed({ ids: ["1"], algorithm: "segment" as const, timestampMs: 0 })

const Services = Layer.mergeAll(
  Layer.succeed(ServerConfig, {
    http: { host: "127.0.0.1", port: 0, maxBodyBytes: 65_536 },
    auth: { cacheTtlMillis: 1000, failedPerIp: { perSecond: 10, burst: 50 }, unknownKeyCacheMillis: 5000, outageGraceMillis: 60_000 },
    rateLimit: { perIpPerSecond: 0, perIpBurst: 0, trustedProxies: [] },
    metrics: { port: undefined, bearerToken: undefined }
  } as unknown as ServerConfigShape),
  Layer.mock(IdService, { generate: generateStub, generateUnsafe: generateStub }),
  Layer.mock(ApiKeys, {
    verifyCached: () => undefined,
    lookupRunning: () => false,
    verify: (raw) =>
      raw === apiKey
        ? Effect.succeed("ws" as Names.WorkspaceName)
        : Effect.fail(new Errors.Unauthorized({ message: "Unknown API key", details: {} }))
  }),
  Layer.mock(AdminToken, {}),
  Layer.mock(AuditLog, {}),
  Layer.mock(RateLimiter, { admit: () => undefined, admitIds: () => undefined }),
  Layer.mock(LiveConfig, { current: () => ({}) as ServerConfigShape, status: () => ({} as never), subscribe: () => () => {} }),
  Layer.mock(AlertEvaluator, { alerts: () => [] }),
  Layer.mock(Health, {
    report: Effect.succeed({
      status: "unhealthy" as const,
      checks: { database: { status: "unhealthy" as const, message: "connection refused" } }
    }),
    ready: Effect.succeed(false)
  }),
  Layer.mock(Workspaces, {}),
  Layer.mock(BizTags, {}),
  Layer.mock(ApiKeyRepo, {}),
  Layer.mock(AuditQuery, {}),
  Layer.mock(DegradationManager, {
    snapshot: () => DegradationFsm.initial(0),
    plan: (chain) => chain,
    isHealthy: () => true,
    succeeded: () => {},
    failed: () => {}
  })
)

/** The stubbed services behind the node's real front door. */
const Stubs = IdRequests.layer.pipe(Layer.provideMerge(Admission.layer), Layer.provideMerge(Services))

/** Defects are logged server-side; keep the test output quiet. */
const Quiet = Logger.layer([])

const assertInternalError = (status: number, headers: Headers, text: string) => {
  assert.strictEqual(status, 500, text)
  const body = JSON.parse(text)
  assert.strictEqual(body.error.code, "IDGEN-COMMON-0004")
  assert.deepStrictEqual(Object.keys(body.error).sort(), ["code", "details", "message", "request_id", "timestamp"])
  assert.strictEqual(headers.get("x-request-id"), body.error.request_id)
  assert.notInclude(text, "kaboom")
  assert.notInclude(text, "    at ")
}

const request = (path: string, init: RequestInit = {}) =>
  new Request(`http://localhost${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": apiKey },
    ...init
  })

describe("HTTP error boundary", () => {
  it.effect("a handler defect on the HttpApi path is 500 IDGEN-COMMON-0004", () =>
    Effect.gen(function*() {
      const { handler, dispose } = HttpRouter.toWebHandler(
        layerRoutes.pipe(Layer.provide([Stubs, HttpServer.layerServices]), Layer.provideMerge(Quiet)),
        { disableLogger: true }
      )
      try {
        const response = yield* Effect.promise(() =>
          handler(request("/api/v1/generate", { body: JSON.stringify({ workspace: "ws", group: "g", biz_tag: "boom" }) }))
        )
        assertInternalError(response.status, response.headers, yield* Effect.promise(() => response.text()))

        const fine = yield* Effect.promise(() =>
          handler(request("/api/v1/generate", { body: JSON.stringify({ workspace: "ws", group: "g", biz_tag: "ok" }) }))
        )
        assert.strictEqual(fine.status, 200)
        assert.deepStrictEqual(yield* Effect.promise(() => fine.json()), {
          id: "1",
          algorithm: "segment",
          timestamp: "1970-01-01T00:00:00.000Z"
        })
      } finally {
        yield* Effect.promise(() => dispose())
      }
    }))

  it.effect("an unhealthy node: /health 503 with the report, /ready 503 IDGEN-COMMON-0005, /live 200", () =>
    Effect.gen(function*() {
      const { handler, dispose } = HttpRouter.toWebHandler(
        layerRoutes.pipe(Layer.provide([Stubs, HttpServer.layerServices])),
        { disableLogger: true }
      )
      try {
        const get = (path: string) =>
          Effect.promise(async () => {
            const response = await handler(new Request(`http://localhost${path}`))
            return { status: response.status, headers: response.headers, json: (await response.json()) as any }
          })
        const health = yield* get("/health")
        assert.strictEqual(health.status, 503)
        assert.deepStrictEqual(health.json, {
          status: "unhealthy",
          checks: { database: { status: "unhealthy", message: "connection refused" } }
        })
        const ready = yield* get("/ready")
        assert.strictEqual(ready.status, 503)
        assert.strictEqual(ready.json.error.code, "IDGEN-COMMON-0005")
        assert.strictEqual(ready.headers.get("x-request-id"), ready.json.error.request_id)
        assert.strictEqual((yield* get("/live")).status, 200)
      } finally {
        yield* Effect.promise(() => dispose())
      }
    }))

  it.effect("a generator defect on the fast path is 500 IDGEN-COMMON-0004", () =>
    Effect.gen(function*() {
      const fastPath = yield* IdsFastPath.make.pipe(Effect.provide(Layer.merge(Stubs, Quiet)))
      const server = IdsFastPath.install(createServer((_req, res) => res.writeHead(418).end()), fastPath)
      const port = yield* Effect.callback<number>((resume) => {
        server.listen(0, "127.0.0.1", () => {
          const address = server.address()
          resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 0))
        })
      })
      try {
        const send = (path: string, body: unknown) =>
          Effect.promise(async () => {
            const response = await fetch(`http://127.0.0.1:${port}${path}`, {
              method: "POST",
              headers: { "content-type": "application/json", "x-api-key": apiKey },
              body: JSON.stringify(body)
            })
            return { status: response.status, headers: response.headers, text: await response.text() }
          })
        const boom = yield* send("/api/v1/generate", { workspace: "ws", group: "g", biz_tag: "boom" })
        assertInternalError(boom.status, boom.headers, boom.text)
        const ok = yield* send("/api/v1/generate/batch", { workspace: "ws", group: "g", biz_tag: "ok", size: 1 })
        assert.strictEqual(ok.status, 200, ok.text)
        // Not a generate route: left to the server's own listener
        assert.strictEqual((yield* send("/api/v1/parse", { id: "1" })).status, 418)
      } finally {
        yield* Effect.callback<void>((resume) => {
          server.close(() => resume(Effect.void))
          server.closeAllConnections()
        })
      }
    }))
})
