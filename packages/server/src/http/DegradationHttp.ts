/**
 * Handlers of `DegradationApi`: the state machine to and from its snake_case wire form.
 */
import { type DegradationFsm, Errors } from "@idgen/core"
import { Api, Operator } from "@idgen/protocol/http"
import { Effect, Layer } from "effect"
import { HttpApiBuilder, type HttpApiGroup } from "effect/http-api"
import type { AuditLog } from "../audit/AuditLog.ts"
import type { AdminToken } from "../auth/AdminToken.ts"
import type { ServerConfig } from "../config/ServerConfig.ts"
import { DegradationManager } from "../degradation/DegradationManager.ts"
import * as AdminMiddleware from "./AdminMiddleware.ts"
import * as RequestValidation from "./RequestValidation.ts"

export const toWire = (state: DegradationFsm.State) => ({
  mode: state.mode,
  mode_since: new Date(state.modeSince).toISOString(),
  thresholds: {
    failure_threshold: state.thresholds.failureThreshold,
    recovery_threshold: state.thresholds.recoveryThreshold,
    min_unhealthy_ms: state.thresholds.minUnhealthyMillis
  },
  algorithms: Object.fromEntries(
    Object.entries(state.health).map(([algorithm, h]) => [algorithm, {
      status: h.status,
      consecutive_failures: h.consecutiveFailures,
      consecutive_successes: h.consecutiveSuccesses,
      since: new Date(h.since).toISOString(),
      manual: h.manual,
      reason: h.reason ?? null
    }])
  )
})

const DegradationHandlers = HttpApiBuilder.group(
  Api,
  "degradation",
  Effect.fnUntraced(function*(handlers) {
    const manager = yield* DegradationManager
    // The manager audits these actions itself (it knows the thresholds they end with), by the operator's id.
    const operator = Effect.map(Effect.service(Operator), (op) => op.id)
    return handlers
      .handle("getDegradation", () => Effect.sync(() => toWire(manager.snapshot())))
      .handle("degrade", ({ params, payload }) =>
        operator.pipe(
          Effect.flatMap((id) => manager.degrade(params.algorithm, payload?.reason ?? "degraded by an operator", id)),
          Effect.map(toWire)
        ))
      .handle("recover", ({ params }) =>
        operator.pipe(Effect.flatMap((id) => manager.recover(params.algorithm, id)), Effect.map(toWire)))
      .handle("updateThresholds", ({ payload }) =>
        Effect.flatMap(
          Effect.flatMap(operator, (id) => manager.setThresholds({
            ...(payload.failure_threshold === undefined ? {} : { failureThreshold: payload.failure_threshold }),
            ...(payload.recovery_threshold === undefined ? {} : { recoveryThreshold: payload.recovery_threshold }),
            ...(payload.min_unhealthy_ms === undefined ? {} : { minUnhealthyMillis: payload.min_unhealthy_ms })
          }, id)),
          (state) =>
            state === undefined
              ? Effect.fail(new Errors.InvalidRequest({ message: "Invalid request body: thresholds out of range", details: { location: "body" } }))
              : Effect.succeed(toWire(state))
        ))
  })
)

export const layer: Layer.Layer<
  HttpApiGroup.Service<"idgen", "degradation">,
  never,
  DegradationManager | AdminToken | AuditLog | ServerConfig
> = DegradationHandlers.pipe(Layer.provide([AdminMiddleware.layer, RequestValidation.layer]))
