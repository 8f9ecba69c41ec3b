/**
 * `GET /metrics`: the node's registry as Prometheus text (Effect's formatter).
 *
 * - gzip when the scraper sends `Accept-Encoding: gzip` (Prometheus always does): the page
 *   is mostly repeated names and labels and shrinks ~10×; compressed off the event loop.
 * - `metrics.bearer_token` set: a scrape without `Authorization: Bearer <token>` is refused
 *   (401 IDGEN-COMMON-0002), compared in constant time (of the digests).
 * - `metrics.port` set: served on that port (on `http.host`, plain HTTP) and no longer on
 *   the HTTP port, so it can stay inside the cluster network while the API is exposed.
 *
 * Conventions of the node's series: `idgen_` prefix (Node's own under the client libraries'
 * `process_`/`nodejs_` names, `RuntimeMetrics.ts`), base units in the name (`_seconds`,
 * `_bytes`, `_ratio`), `_total` on counters, and only bounded label values — see the README's
 * cardinality budget. A feature's metrics live beside it (`segment/SegmentMetrics.ts`, …).
 */
import { Errors } from "@idgen/core"
import { WireError } from "@idgen/protocol/http"
import { Context, Effect, Layer, Redacted } from "effect"
import { HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { createHash, timingSafeEqual } from "node:crypto"
import { createServer } from "node:http"
import { gzip } from "node:zlib"
import { ServerConfig } from "../config/ServerConfig.ts"
import * as NodeServer from "../net/NodeServer.ts"
import { withRequestId } from "../net/RequestId.ts"
import type { StartFailure } from "../StartFailure.ts"

const contentType = "text/plain; version=0.0.4; charset=utf-8"

const digest = (text: string) => createHash("sha256").update(text).digest()

/** `gzip` (or `*`) among the accepted encodings, without `q=0`. */
const acceptsGzip = (header: string | undefined) =>
  header !== undefined && header.split(",").some((entry) => {
    const [coding = "", ...params] = entry.split(";").map((part) => part.trim().toLowerCase())
    const q = params.find((param) => param.startsWith("q="))
    return (coding === "gzip" || coding === "*") && (q === undefined || Number(q.slice(2)) > 0)
  })

const compress = (text: string) =>
  Effect.callback<Uint8Array>((resume) => {
    gzip(text, (error, result) => resume(error === null ? Effect.succeed(result) : Effect.die(error)))
  })

/** The handler of `GET /metrics`, refusing scrapes without `token` when one is set. */
export const handler = (token: Redacted.Redacted<string> | undefined) => {
  const expected = token === undefined ? undefined : digest(`Bearer ${Redacted.value(token)}`)
  return Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    if (expected !== undefined && !timingSafeEqual(digest(request.headers["authorization"] ?? ""), expected)) {
      return yield* WireError.respond(
        new Errors.Unauthorized({ message: "/metrics needs Authorization: Bearer <metrics.bearer_token>", details: {} })
      )
    }
    const text = yield* PrometheusMetrics.format()
    if (!acceptsGzip(request.headers["accept-encoding"])) {
      return HttpServerResponse.text(text, { contentType, headers: { vary: "accept-encoding" } })
    }
    return HttpServerResponse.uint8Array(yield* compress(text), {
      contentType,
      headers: { "content-encoding": "gzip", vary: "accept-encoding" }
    })
  })
}

/** `/metrics` on the HTTP port's router, unless `metrics.port` moves it to a port of its own. */
export const layerRoute: Layer.Layer<never, never, HttpRouter.HttpRouter | ServerConfig> = Layer.unwrap(
  Effect.map(ServerConfig, (config) =>
    config.metrics.port !== undefined
      ? Layer.empty
      : Layer.effectDiscard(
        Effect.flatMap(HttpRouter.HttpRouter, (router) => router.add("GET", "/metrics", handler(config.metrics.bearerToken)))
      ))
)

/** The port of its own as bound (the kernel's pick for port 0); undefined without `metrics.port`. */
export class MetricsPort extends Context.Service<MetricsPort, { readonly port: number | undefined }>()(
  "@idgen/server/observability/MetricsPort"
) {}

/** The port of its own (`metrics.port`): `/metrics` and nothing else (404 IDGEN-COMMON-0007). */
export const layerServer: Layer.Layer<MetricsPort, StartFailure, ServerConfig> = Layer.unwrap(
  Effect.map(ServerConfig, (config) => {
    const port = config.metrics.port
    if (port === undefined) return Layer.succeed(MetricsPort, { port: undefined })
    const metrics = handler(config.metrics.bearerToken)
    const app = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
      const path = request.url.split("?")[0]
      return request.method === "GET" && path === "/metrics" ? metrics : WireError.respond(
        new Errors.NotFound({
          message: `No route for ${request.method} ${path} (this port serves GET /metrics only)`,
          details: { method: request.method, path }
        })
      )
    })
    const bound = Layer.effect(
      MetricsPort,
      Effect.map(HttpServer.HttpServer, ({ address }) => ({ port: address._tag === "UnixPathAddress" ? undefined : address.port }))
    )
    return Layer.mergeAll(HttpServer.serve(withRequestId(app)), bound).pipe(
      Layer.provide(NodeServer.layer("metrics", () => createServer(), { host: config.http.host, port }))
    )
  })
)
