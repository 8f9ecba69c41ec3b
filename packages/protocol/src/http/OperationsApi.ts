/**
 * The operator API's operations endpoints (`Authorization: Bearer <admin token>`): the
 * effective configuration (secrets redacted), runtime changes to the live settings, a
 * reload of the configuration file, and the node's alerts and alert rules.
 */
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { AdminAuth } from "./AdminAuth.ts"
import { RequestValidation } from "./RequestValidation.ts"
import * as WireError from "./WireError.ts"

const Json = Schema.Record(Schema.String, Schema.Unknown)

export const ReloadReport = Schema.Struct({
  source: Schema.Literals(["file", "api", "signal"]),
  at: Schema.String.annotate({ description: "RFC 3339" }),
  applied: Schema.Array(Schema.String).annotate({ description: "Settings that changed and took effect (the file's names, e.g. segment.default_step)" }),
  restart_required: Schema.Array(Schema.String).annotate({
    description: "Settings that changed but need a restart; not applied (the file's names)"
  })
}).annotate({ identifier: "ReloadReport" })

export const EffectiveConfig = Schema.Struct({
  config_file: Schema.NullOr(Schema.String),
  effective: Json.annotate({
    description: "The running configuration in the file's form and names (as PATCH takes them); secrets are \"<redacted>\", unset settings null"
  }),
  live_settings: Schema.Array(Schema.String).annotate({ description: "Settings (file format) that change without a restart" }),
  overrides: Json.annotate({ description: "Runtime changes in force (file format); lost on restart" }),
  last_reload: Schema.NullOr(ReloadReport),
  last_error: Schema.NullOr(Schema.Struct({ source: Schema.String, at: Schema.String, message: Schema.String }))
}).annotate({ identifier: "EffectiveConfig" })

export const Alert = Schema.Struct({
  name: Schema.String,
  state: Schema.Literals(["pending", "firing", "resolved"]),
  severity: Schema.String,
  labels: Schema.Record(Schema.String, Schema.String),
  annotations: Schema.Record(Schema.String, Schema.String),
  value: Schema.NullOr(Schema.Number),
  active_since: Schema.NullOr(Schema.String),
  fired_at: Schema.NullOr(Schema.String),
  resolved_at: Schema.NullOr(Schema.String),
  fingerprint: Schema.String
}).annotate({ identifier: "Alert" })

export const AlertRule = Schema.Struct({
  name: Schema.String,
  expr: Schema.String,
  for: Schema.String,
  severity: Schema.String,
  labels: Schema.Record(Schema.String, Schema.String),
  annotations: Schema.Record(Schema.String, Schema.String)
}).annotate({ identifier: "AlertRule" })

export class OperationsApi extends HttpApiGroup.make("operations")
  .add(
    HttpApiEndpoint.get("getConfig", "/config", { success: EffectiveConfig, error: WireError.common }),
    HttpApiEndpoint.patch("updateConfig", "/config", {
      payload: Json.annotate({
        description: "Live settings in the file format, e.g. {\"segment\":{\"default_step\":500},\"log\":{\"level\":\"debug\"}}; " +
          "a setting read at start only (not in live_settings) is refused (400)"
      }),
      success: ReloadReport,
      error: [WireError.BadRequest, ...WireError.common]
    }),
    HttpApiEndpoint.post("reloadConfig", "/config/reload", {
      success: ReloadReport,
      error: [WireError.BadRequest, ...WireError.common]
    }),
    HttpApiEndpoint.get("listAlerts", "/alerts", { success: Schema.Array(Alert), error: WireError.common }),
    HttpApiEndpoint.get("listAlertRules", "/alert-rules", { success: Schema.Array(AlertRule), error: WireError.common })
  )
  .middleware(RequestValidation)
  .middleware(AdminAuth)
  .prefix("/api/v1/admin")
  .annotateMerge(OpenApi.annotations({
    title: "Operations",
    description: "Effective configuration, runtime changes, alerts (admin token)"
  }))
{}
