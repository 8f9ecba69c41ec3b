/**
 * The operations part of the configuration: logging, tracing, metrics, alerting, TLS and
 * the reloading of the file. `ConfigLoader` merges these sections into the file schema, the
 * environment table and the effective `ServerConfig`; they live here so the loader stays a
 * list of sections.
 *
 * Which settings change without a restart (file reload or `PATCH /api/v1/admin/config`):
 * `liveSettings` in `HotReload.ts`; everything else needs a restart and a reload reports it.
 */
import { Effect, Redacted, Result, Schema } from "effect"
import * as AlertRules from "../alerting/AlertRules.ts"
import * as Expression from "../alerting/Expression.ts"
import { ConfigInvalid } from "./ConfigInvalid.ts"
import { Port, PositiveInt, section, withDefault } from "./SchemaHelpers.ts"

const LogLevel = Schema.Literals(["trace", "debug", "info", "warning", "error", "fatal", "none"])
export type LogLevel = typeof LogLevel.Type

const DurationText = Schema.String.check(
  Schema.makeFilter((s: string) => Expression.parseDuration(s) !== undefined || "expected a duration such as 30s, 5m, 1h")
)
const Ratio = Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }))
const HttpUrl = Schema.String.check(Schema.isPattern(/^https?:\/\/\S+$/))
const StringRecord = Schema.Record(Schema.String, Schema.String)

const RuleFile = Schema.Struct({
  name: Schema.String.check(Schema.isPattern(AlertRules.alertNamePattern)),
  expr: Schema.String.check(Schema.isMinLength(1)),
  for: withDefault(DurationText, "0s"),
  severity: withDefault(Schema.Literals(["critical", "warning", "info"]), "warning"),
  labels: withDefault(StringRecord, {}),
  annotations: withDefault(StringRecord, {})
})

/** The file sections (snake_case, every key optional). */
export const fileSections = {
  log: section({
    level: withDefault(LogLevel, "info"),
    format: withDefault(Schema.Literals(["text", "logfmt", "json", "pretty"]), "text")
  }),
  tracing: section({
    otlp_endpoint: Schema.optional(HttpUrl),
    service_name: withDefault(Schema.String.check(Schema.isMinLength(1)), "idgen"),
    otlp_headers: withDefault(StringRecord, {}),
    sample_ratio: withDefault(Ratio, 1)
  }),
  metrics: section({
    port: Schema.optional(Port),
    bearer_token: Schema.optional(Schema.String.check(Schema.isMinLength(16)))
  }),
  alerting: section({
    enabled: withDefault(Schema.Boolean, true),
    evaluation_interval_ms: withDefault(Schema.Int.check(Schema.isBetween({ minimum: 50, maximum: 3_600_000 })), 15_000),
    builtin_rules: withDefault(Schema.Boolean, true),
    thresholds: section({
      range_remaining_ratio: withDefault(Ratio, AlertRules.defaultThresholds.rangeRemainingRatio),
      clock_drift_ms: withDefault(PositiveInt, AlertRules.defaultThresholds.clockDriftMillis),
      error_ratio: withDefault(Ratio, AlertRules.defaultThresholds.errorRatio)
    }),
    rules: withDefault(Schema.Array(RuleFile), []),
    labels: withDefault(StringRecord, {}),
    webhook_urls: withDefault(Schema.Array(HttpUrl), []),
    alertmanager_urls: withDefault(Schema.Array(HttpUrl), []),
    log_channel: withDefault(Schema.Boolean, true),
    notify_timeout_ms: withDefault(Schema.Int.check(Schema.isBetween({ minimum: 100, maximum: 60_000 })), 5000)
  }),
  tls: section({
    cert_file: Schema.optional(Schema.String.check(Schema.isMinLength(1))),
    key_file: Schema.optional(Schema.String.check(Schema.isMinLength(1))),
    ca_file: Schema.optional(Schema.String.check(Schema.isMinLength(1))),
    min_version: withDefault(Schema.Literals(["TLSv1.2", "TLSv1.3"]), "TLSv1.2")
  }),
  reload: section({
    watch: withDefault(Schema.Boolean, true),
    poll_interval_ms: withDefault(Schema.Int.check(Schema.isBetween({ minimum: 100, maximum: 600_000 })), 2000)
  })
}

type Path = readonly [section: string, key: string]
const integer = (s: string) => (/^-?\d+$/.test(s.trim()) ? Number(s) : s)
const list = (s: string) => s.split(",").map((x) => x.trim()).filter((x) => x.length > 0)
export const boolean = (s: string) => (/^(1|true|yes|on)$/i.test(s.trim()) ? true : /^(0|false|no|off)$/i.test(s.trim()) ? false : s)
/** `OTEL_EXPORTER_OTLP_HEADERS`: `k=v,k2=v2` (values URL-encoded, as the OTel spec says). */
const headers = (s: string) =>
  Object.fromEntries(list(s).map((pair) => {
    const at = pair.indexOf("=")
    return at < 0 ? [pair, ""] : [pair.slice(0, at).trim(), decodeURIComponent(pair.slice(at + 1).trim())]
  }))

/** Environment variables of these sections (OpenTelemetry's standard names for tracing). */
export const environment: ReadonlyArray<readonly [name: string, path: Path, parse: (s: string) => unknown]> = [
  ["IDGEN_LOG_LEVEL", ["log", "level"], (s) => s.trim().toLowerCase()],
  ["IDGEN_LOG_FORMAT", ["log", "format"], String],
  ["OTEL_EXPORTER_OTLP_ENDPOINT", ["tracing", "otlp_endpoint"], String],
  ["OTEL_SERVICE_NAME", ["tracing", "service_name"], String],
  ["OTEL_EXPORTER_OTLP_HEADERS", ["tracing", "otlp_headers"], headers],
  ["OTEL_TRACES_SAMPLER_ARG", ["tracing", "sample_ratio"], (s) => (Number.isFinite(Number(s)) ? Number(s) : s)],
  ["IDGEN_METRICS_PORT", ["metrics", "port"], integer],
  ["IDGEN_METRICS_BEARER_TOKEN", ["metrics", "bearer_token"], String],
  ["IDGEN_ALERTING_ENABLED", ["alerting", "enabled"], boolean],
  ["IDGEN_ALERT_EVALUATION_INTERVAL_MS", ["alerting", "evaluation_interval_ms"], integer],
  ["IDGEN_ALERT_WEBHOOK_URLS", ["alerting", "webhook_urls"], list],
  ["IDGEN_ALERTMANAGER_URLS", ["alerting", "alertmanager_urls"], list],
  ["IDGEN_TLS_CERT_FILE", ["tls", "cert_file"], String],
  ["IDGEN_TLS_KEY_FILE", ["tls", "key_file"], String],
  ["IDGEN_TLS_CA_FILE", ["tls", "ca_file"], String],
  ["IDGEN_CONFIG_WATCH", ["reload", "watch"], boolean],
  ["IDGEN_CONFIG_POLL_INTERVAL_MS", ["reload", "poll_interval_ms"], integer]
]

export interface OperationsConfigShape {
  /** `text`: Effect's default line; `json` for log shippers. */
  readonly log: { readonly level: LogLevel; readonly format: "text" | "logfmt" | "json" | "pretty" }
  readonly tracing: {
    /** OTLP/HTTP base endpoint; unset → no export. */
    readonly otlpEndpoint: string | undefined
    readonly serviceName: string
    readonly otlpHeaders: Readonly<Record<string, string>>
    /** Share of root traces exported (parent-based: a caller's sampling decision wins). */
    readonly sampleRatio: number
  }
  readonly metrics: {
    /** Set → `/metrics` is served on this port (on `http.host`) instead of the HTTP port. */
    readonly port: number | undefined
    /** Set → scrapes must send `Authorization: Bearer <token>`. */
    readonly bearerToken: Redacted.Redacted<string> | undefined
  }
  readonly alerting: {
    readonly enabled: boolean
    readonly evaluationIntervalMillis: number
    readonly builtinRules: boolean
    readonly thresholds: AlertRules.Thresholds
    /** Configured rules (validated: their expressions parse). */
    readonly rules: ReadonlyArray<AlertRules.RuleSpec>
    /** Added to every alert (e.g. cluster, region). */
    readonly labels: Readonly<Record<string, string>>
    readonly webhookUrls: ReadonlyArray<string>
    /** Alertmanager base URLs; alerts are posted to `{url}/api/v2/alerts`. */
    readonly alertmanagerUrls: ReadonlyArray<string>
    readonly logChannel: boolean
    readonly notifyTimeoutMillis: number
  }
  readonly tls: {
    /** Both set → the HTTP port serves HTTPS only. */
    readonly certFile: string | undefined
    readonly keyFile: string | undefined
    /** Set → clients must present a certificate signed by this CA. */
    readonly caFile: string | undefined
    readonly minVersion: "TLSv1.2" | "TLSv1.3"
  }
  readonly reload: { readonly watch: boolean; readonly pollIntervalMillis: number }
}

type RawSections = { readonly [K in keyof typeof fileSections]: (typeof fileSections)[K]["Type"] }

/** The effective operations settings, with the cross-field checks the schema cannot express. */
export const fromFile = (raw: RawSections): Effect.Effect<OperationsConfigShape, ConfigInvalid> =>
  Effect.gen(function*() {
    const { tls, alerting } = raw
    if ((tls.cert_file === undefined) !== (tls.key_file === undefined)) {
      return yield* new ConfigInvalid({
        message: "tls.cert_file (IDGEN_TLS_CERT_FILE) and tls.key_file (IDGEN_TLS_KEY_FILE) must be set together"
      })
    }
    if (tls.ca_file !== undefined && tls.cert_file === undefined) {
      return yield* new ConfigInvalid({ message: "tls.ca_file needs tls.cert_file and tls.key_file" })
    }
    const thresholds: AlertRules.Thresholds = {
      rangeRemainingRatio: alerting.thresholds.range_remaining_ratio,
      clockDriftMillis: alerting.thresholds.clock_drift_ms,
      errorRatio: alerting.thresholds.error_ratio
    }
    const rules = alerting.rules.map((r): AlertRules.RuleSpec => ({
      name: r.name,
      expr: r.expr,
      forMs: Expression.parseDuration(r.for)!,
      severity: r.severity,
      labels: r.labels,
      annotations: r.annotations
    }))
    const names = new Set<string>()
    for (const rule of rules) {
      if (names.has(rule.name)) return yield* new ConfigInvalid({ message: `alerting.rules: ${rule.name} is defined twice` })
      names.add(rule.name)
    }
    const compiled = AlertRules.effectiveRules({ builtin: alerting.builtin_rules, thresholds, rules })
    if (Result.isFailure(compiled)) {
      return yield* new ConfigInvalid({ message: `alerting.rules: ${compiled.failure.message}` })
    }
    return {
      log: raw.log,
      tracing: {
        otlpEndpoint: raw.tracing.otlp_endpoint,
        serviceName: raw.tracing.service_name,
        otlpHeaders: raw.tracing.otlp_headers,
        sampleRatio: raw.tracing.sample_ratio
      },
      metrics: {
        port: raw.metrics.port,
        bearerToken: raw.metrics.bearer_token === undefined ? undefined : Redacted.make(raw.metrics.bearer_token)
      },
      alerting: {
        enabled: alerting.enabled,
        evaluationIntervalMillis: alerting.evaluation_interval_ms,
        builtinRules: alerting.builtin_rules,
        thresholds,
        rules,
        labels: alerting.labels,
        webhookUrls: alerting.webhook_urls,
        alertmanagerUrls: alerting.alertmanager_urls,
        logChannel: alerting.log_channel,
        notifyTimeoutMillis: alerting.notify_timeout_ms
      },
      tls: { certFile: tls.cert_file, keyFile: tls.key_file, caFile: tls.ca_file, minVersion: tls.min_version },
      reload: { watch: raw.reload.watch, pollIntervalMillis: raw.reload.poll_interval_ms }
    }
  })
