/**
 * The node's alert evaluator. The rules are checked here for their shape; whether their
 * expressions parse is checked by `alerting/` (`AlertRules.configProblems`), passed to the
 * loader where the node is wired, since config/ does not depend on alerting/.
 */
import { Schema } from "effect"
import { formatDuration, parseDuration } from "../Duration.ts"
import { HttpUrl, IntBetween, NumberFromText, PositiveInt, Ratio, StringRecord, withDefault } from "../SchemaHelpers.ts"
import * as Section from "../Section.ts"
import * as Setting from "../Setting.ts"

export const alertNamePattern = /^[A-Za-z_][A-Za-z0-9_]*$/

export const defaultThresholds = { rangeRemainingRatio: 0.2, clockDriftMillis: 100, errorRatio: 0.05 }

/** `30s`, `5m` → milliseconds. */
const DurationMillis = NumberFromText(parseDuration, formatDuration, "expected a duration such as 30s, 5m, 1h")

/** A configured rule (TOML `[[alerting.rules]]`), as `AlertRules.RuleSpec`. */
const Rule = Schema.Struct({
  name: Schema.String.check(Schema.isPattern(alertNamePattern)),
  expr: Schema.String.check(Schema.isMinLength(1)),
  forMs: withDefault(DurationMillis, "0s"),
  severity: withDefault(Schema.Literals(["critical", "warning", "info"]), "warning"),
  labels: withDefault(StringRecord, {}),
  annotations: withDefault(StringRecord, {})
}).pipe(Schema.encodeKeys({ forMs: "for" }))

export const section = Section.make("alerting", {
  enabled: Setting.make("enabled", Schema.Boolean, { default: true, live: true, doc: "Run the node's alert evaluator" }),
  evaluationIntervalMillis: Setting.make("evaluation_interval_ms", IntBetween(50, 3_600_000), {
    default: 15_000,
    live: true,
    doc: "How often the rules are evaluated"
  }),
  builtinRules: Setting.make("builtin_rules", Schema.Boolean, { default: true, live: true, doc: "Run the built-in rules" }),
  thresholds: Setting.table("thresholds", {
    rangeRemainingRatio: Setting.make("range_remaining_ratio", Ratio, {
      default: defaultThresholds.rangeRemainingRatio,
      live: true,
      doc: "IdgenSegmentRangeLow fires below this share of the datacenter range"
    }),
    clockDriftMillis: Setting.make("clock_drift_ms", PositiveInt, {
      default: defaultThresholds.clockDriftMillis,
      live: true,
      doc: "IdgenClockDrift fires above this drift"
    }),
    errorRatio: Setting.make("error_ratio", Ratio, {
      default: defaultThresholds.errorRatio,
      live: true,
      doc: "IdgenHighErrorRatio fires above this share of server errors"
    })
  }),
  rules: Setting.make("rules", Schema.Array(Rule), {
    default: [],
    live: true,
    doc: "Extra rules (`name`, `expr`, `for`, `severity`, `labels`, `annotations`); a built-in rule's name replaces it"
  }),
  labels: Setting.make("labels", StringRecord, { default: {}, live: true, doc: "Labels added to every alert (e.g. cluster)" }),
  webhookUrls: Setting.make("webhook_urls", Schema.Array(HttpUrl), {
    default: [],
    live: true,
    doc: "Webhook receivers (Alertmanager webhook payload)"
  }),
  alertmanagerUrls: Setting.make("alertmanager_urls", Schema.Array(HttpUrl), {
    default: [],
    live: true,
    doc: "Alertmanagers to post alerts to (`/api/v2/alerts`)"
  }),
  logChannel: Setting.make("log_channel", Schema.Boolean, { default: true, live: true, doc: "Log every alert transition" }),
  notifyTimeoutMillis: Setting.make("notify_timeout_ms", IntBetween(100, 60_000), {
    default: 5000,
    live: true,
    doc: "Timeout of one notification attempt"
  })
}, (alerting) => {
  const names = new Set<string>()
  const twice = alerting.rules.filter((rule) => names.size === names.add(rule.name).size)
  return twice.length === 0 ? alerting : Section.refuse(...twice.map((rule) => ({ key: "rules", message: `${rule.name} is defined twice` })))
})
