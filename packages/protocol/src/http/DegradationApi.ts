/**
 * Operator endpoints of the degradation manager (admin token): read the state machine,
 * take an algorithm out of every chain or put it back, change the thresholds at run time.
 * Health is each node's own (each worker process's, with `IDGEN_WORKERS`); an operator's
 * action holds for the whole instance: every worker process has it when the answer comes.
 */
import { Names } from "@idgen/core"
import { Schema } from "effect"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { AdminAuth } from "./AdminAuth.ts"
import { RequestValidation } from "./RequestValidation.ts"
import { StoredText } from "./StoredText.ts"
import * as WireError from "./WireError.ts"

const Timestamp = Schema.String.annotate({ description: "RFC 3339" })

export const AlgorithmHealth = Schema.Struct({
  status: Schema.Literals(["healthy", "unhealthy"]),
  consecutive_failures: Schema.Int,
  consecutive_successes: Schema.Int,
  since: Timestamp,
  manual: Schema.Boolean.annotate({ description: "Held unhealthy by an operator: no automatic recovery" }),
  reason: Schema.NullOr(Schema.String)
}).annotate({ identifier: "AlgorithmHealth" })

export const Thresholds = Schema.Struct({
  failure_threshold: Schema.Int,
  recovery_threshold: Schema.Int,
  min_unhealthy_ms: Schema.Int
}).annotate({ identifier: "DegradationThresholds" })

export const DegradationState = Schema.Struct({
  mode: Schema.Literals(["Normal", "Degraded", "Critical"]),
  mode_since: Timestamp,
  thresholds: Thresholds,
  algorithms: Schema.Record(Schema.String, AlgorithmHealth)
}).annotate({ identifier: "DegradationState" })

export const DegradeRequest = Schema.Struct({
  reason: Schema.optional(StoredText.check(Schema.isMaxLength(500)))
}).annotate({ identifier: "DegradeRequest" })

const Positive = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))
export const UpdateThresholdsRequest = Schema.Struct({
  failure_threshold: Schema.optional(Positive),
  recovery_threshold: Schema.optional(Positive),
  min_unhealthy_ms: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 3_600_000 })))
}).annotate({ identifier: "UpdateThresholdsRequest" })

const algorithmParams = { algorithm: Names.Algorithm }

export class DegradationApi extends HttpApiGroup.make("degradation")
  .add(
    HttpApiEndpoint.get("getDegradation", "/degradation", { success: DegradationState, error: WireError.common }),
    HttpApiEndpoint.post("degrade", "/degradation/:algorithm/degrade", {
      params: algorithmParams,
      payload: [DegradeRequest, Schema.Null],
      success: DegradationState,
      error: [WireError.BadRequest, ...WireError.common]
    }),
    HttpApiEndpoint.post("recover", "/degradation/:algorithm/recover", {
      params: algorithmParams,
      success: DegradationState,
      error: [WireError.BadRequest, ...WireError.common]
    }),
    HttpApiEndpoint.patch("updateThresholds", "/degradation/thresholds", {
      payload: UpdateThresholdsRequest,
      success: DegradationState,
      error: [WireError.BadRequest, ...WireError.common]
    })
  )
  // An unknown field (a typo of an optional one) is refused, not silently dropped as a no-op.
  .annotate(HttpApi.PayloadParseOptions, { onExcessProperty: "error" })
  .middleware(RequestValidation)
  .middleware(AdminAuth)
  .prefix("/api/v1/admin")
  .annotateMerge(OpenApi.annotations({ title: "Degradation", description: "Degradation state machine of this node (admin token)" }))
{}
