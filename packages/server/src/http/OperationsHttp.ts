/**
 * Handlers of the operations endpoints. Runtime changes and reloads go through
 * `LiveConfig` (validated like the file at start-up; a refused change is 400 with the
 * validation message and leaves the running configuration as it was), and, with worker
 * processes, on to the instance's other workers before the answer (`OperatorRelay`).
 */
import { type AuditActions, Errors } from "@idgen/core"
import { Api } from "@idgen/protocol/http"
import { Effect, Layer, Redacted } from "effect"
import { HttpApiBuilder, type HttpApiGroup } from "effect/http-api"
import { AlertEvaluator } from "../alerting/AlertEvaluator.ts"
import * as AlertRules from "../alerting/AlertRules.ts"
import * as Expression from "../alerting/Expression.ts"
import type { AuditLog } from "../audit/AuditLog.ts"
import { audited } from "../audit/Operator.ts"
import type { AdminToken } from "../auth/AdminToken.ts"
import * as ConfigView from "../config/ConfigView.ts"
import { LiveConfig, liveSettings, type ReloadFailed, type ReloadReport } from "../config/HotReload.ts"
import type { ServerConfig } from "../config/ServerConfig.ts"
import { OperatorRelay } from "../instance/OperatorRelay.ts"
import * as AdminMiddleware from "./AdminMiddleware.ts"
import * as RequestValidation from "./RequestValidation.ts"

/**
 * JSON-ready copy with every secret replaced (Redacted values, and whatever the settings
 * declare secret, e.g. OTLP header values, which carry credentials); unset settings are null.
 */
export const redact = (value: unknown, path = ""): unknown => {
  if (value === undefined) return null
  if (Redacted.isRedacted(value)) return ConfigView.redactedText
  if (Array.isArray(value)) return value.map((v) => redact(v, path))
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => {
        const here = path === "" ? k : `${path}.${k}`
        return [k, ConfigView.isSecret(here) && (typeof v !== "object" || v === null) ? ConfigView.redactedText : redact(v, here)]
      })
    )
  }
  return value
}

const toReport = (report: ReloadReport) => ({
  source: report.source,
  at: report.at,
  applied: report.applied,
  restart_required: report.restartRequired
})

/** Dotted paths of the settings a change names; not their values, which may be secrets (webhook URLs). */
const settingPaths = (value: unknown, path = ""): ReadonlyArray<string> =>
  typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length > 0
    ? Object.entries(value).flatMap(([k, v]) => settingPaths(v, path === "" ? k : `${path}.${k}`))
    : path === "" ? [] : [path]

/** What a change or reload did, for the audit trail. */
const auditedReload = (action: AuditActions.Action, requested?: unknown) =>
  audited(action, (report: ReloadReport) => ({
    resource: "config",
    details: {
      ...(requested === undefined ? {} : { requested: settingPaths(requested) }),
      source: report.source,
      applied: report.applied,
      restart_required: report.restartRequired
    }
  }))

const refused = (error: ReloadFailed) =>
  Effect.fail(new Errors.InvalidRequest({ message: `Configuration refused: ${error.message}`, details: { source: error.source } }))

const OperationsHandlers = HttpApiBuilder.group(
  Api,
  "operations",
  Effect.fnUntraced(function*(handlers) {
    const live = yield* LiveConfig
    const relay = yield* OperatorRelay
    const evaluator = yield* AlertEvaluator
    return handlers
      .handle("getConfig", () =>
        Effect.sync(() => {
          const status = live.status()
          return {
            config_file: status.configFile ?? null,
            effective: ConfigView.effectiveWithUnset(live.current()),
            live_settings: liveSettings,
            overrides: redact(status.overrides) as Record<string, unknown>,
            last_reload: status.lastReload === undefined ? null : toReport(status.lastReload),
            last_error: status.lastError === undefined
              ? null
              : { source: status.lastError.source, at: status.lastError.at, message: status.lastError.message }
          }
        }))
      // The other workers take the overrides this one ends with (one change at a time across
      // the instance, so they had the same ones before).
      .handle("updateConfig", ({ payload }) =>
        relay.change(
          live.update(payload).pipe(auditedReload("update_config", payload)),
          () => ({ _tag: "ConfigOverrides", overrides: live.status().overrides })
        ).pipe(Effect.map(toReport), Effect.catchTag("ReloadFailed", refused)))
      .handle("reloadConfig", () =>
        relay.change(live.reload("file").pipe(auditedReload("reload_config")), () => ({ _tag: "ConfigReload" })).pipe(
          Effect.map(toReport),
          Effect.catchTag("ReloadFailed", refused)
        ))
      .handle("listAlerts", () => Effect.sync(() => evaluator.alerts()))
      .handle("listAlertRules", () =>
        Effect.sync(() => {
          const alerting = live.current().alerting
          const rules = AlertRules.effectiveRules({
            builtin: alerting.builtinRules,
            thresholds: alerting.thresholds,
            rules: alerting.rules
          })
          return rules._tag === "Success"
            ? rules.success.map((r) => ({
              name: r.name,
              expr: r.expr,
              for: Expression.formatDuration(r.forMs),
              severity: r.severity,
              labels: r.labels,
              annotations: r.annotations
            }))
            : []
        }))
  })
)

export const layer: Layer.Layer<
  HttpApiGroup.Service<"idgen", "operations">,
  never,
  LiveConfig | AlertEvaluator | AdminToken | AuditLog | ServerConfig
> = OperationsHandlers.pipe(Layer.provide([AdminMiddleware.layer, RequestValidation.layer]))
