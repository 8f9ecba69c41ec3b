/**
 * Probes for orchestrators and operators: `/health` (the full report), `/live`, `/ready`.
 * `/metrics` (Prometheus text) is served next to them by `HttpServer.layer`.
 */
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import * as WireError from "./WireError.ts"

const HealthStatus = Schema.Literals(["healthy", "degraded", "unhealthy"])

export const HealthReport = Schema.Struct({
  status: HealthStatus,
  checks: Schema.Record(
    Schema.String,
    Schema.Struct({ status: HealthStatus, message: Schema.optional(Schema.String) })
  )
}).annotate({ identifier: "HealthReport" })

export const Live = Schema.Struct({ status: Schema.Literal("live") }).annotate({ identifier: "Live" })
export const Ready = Schema.Struct({ status: Schema.Literal("ready") }).annotate({ identifier: "Ready" })

export class SystemApi extends HttpApiGroup.make("system", { topLevel: true })
  .add(
    HttpApiEndpoint.get("health", "/health", {
      // The same report either way; 503 when the node is unhealthy.
      success: [HealthReport, HealthReport.pipe(HttpApiSchema.status(503))]
    }),
    HttpApiEndpoint.get("live", "/live", { success: Live }),
    HttpApiEndpoint.get("ready", "/ready", {
      success: Ready,
      error: WireError.Unavailable
    })
  )
  .annotateMerge(OpenApi.annotations({ title: "System", description: "Health probes" }))
{}
