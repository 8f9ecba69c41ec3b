/**
 * Alert rules: the built-in set and the compiled
 * form the evaluator runs. The built-in rules are also written, unchanged, as the
 * Prometheus rule file `deploy/prometheus/rules/idgen-alerts.yml`
 * (`node scripts/prometheus-rules.ts`; a test keeps the two in step), so a cluster-wide
 * Prometheus and each node's own evaluator alert on the same conditions.
 */
import { Result } from "effect"
import type { ServerConfigShape } from "../config/ServerConfig.ts"
import * as AlertingSettings from "../config/sections/Alerting.ts"
import * as Expression from "./Expression.ts"

export type Severity = "critical" | "warning" | "info"

/** A rule as configured (TOML `[[alerting.rules]]`) or built in. */
export interface RuleSpec {
  /** The alert name (`alertname` label), `^[A-Za-z_][A-Za-z0-9_]*$`. */
  readonly name: string
  readonly expr: string
  /** How long the condition must hold before the alert fires. */
  readonly forMs: number
  readonly severity: Severity
  readonly labels: Readonly<Record<string, string>>
  /** `summary`, `description`, …; `{{ $labels.x }}` and `{{ $value }}` are expanded. */
  readonly annotations: Readonly<Record<string, string>>
}

export interface AlertRule extends RuleSpec {
  readonly node: Expression.Node
}

export interface Thresholds {
  /** Capacity alert below this fraction of the datacenter's range left (design: 20 %). */
  readonly rangeRemainingRatio: number
  /** Clock behind the last issued snowflake timestamp by more than this. */
  readonly clockDriftMillis: number
  /** Share of generate requests failing with a server error. */
  readonly errorRatio: number
}

export const defaultThresholds: Thresholds = AlertingSettings.defaultThresholds

const bizTag = "{{ $labels.workspace }}/{{ $labels.group }}/{{ $labels.biz_tag }}"

/** The built-in rules for the given thresholds. */
export const builtinRules = (t: Thresholds): ReadonlyArray<RuleSpec> => [
  {
    name: "IdgenSegmentRangeLow",
    expr: `idgen_segment_range_remaining_ratio < ${t.rangeRemainingRatio}`,
    // The remaining range only ever shrinks: nothing to debounce.
    forMs: 0,
    severity: "warning",
    labels: {},
    annotations: {
      summary: `Datacenter ID range of ${bizTag} is running out`,
      description: `Only {{ $value | humanizePercentage }} of this datacenter's range of ${bizTag} is left ` +
        `(alert below ${t.rangeRemainingRatio * 100} %). Plan a range extension before it reaches 0 (IDGEN-SEG-1001).`
    }
  },
  {
    name: "IdgenSegmentRangeLowAggregated",
    expr: `idgen_segment_aggregated_range_remaining_ratio_min < ${t.rangeRemainingRatio}`,
    forMs: 0,
    severity: "warning",
    labels: {},
    annotations: {
      summary: "Datacenter ID range of a biz_tag without its own series is running out",
      description: `Only {{ $value | humanizePercentage }} of this datacenter's range is left for at least one ` +
        `auto-created biz_tag (or one past the cap of per-biz_tag series; alert below ${t.rangeRemainingRatio * 100} %). ` +
        `GET /api/v1/admin/workspaces/{ws}/biz-tags lists each one's remaining capacity.`
    }
  },
  {
    name: "IdgenClockDrift",
    expr: `idgen_snowflake_clock_drift_seconds > ${t.clockDriftMillis / 1000}`,
    forMs: 30_000,
    severity: "warning",
    labels: {},
    annotations: {
      summary: "Clock behind the last issued snowflake timestamp",
      description: `The clock has been {{ $value }} s behind the last issued snowflake timestamp for 30 s ` +
        `(alert above ${t.clockDriftMillis} ms): snowflake runs on the logical clock or refuses (IDGEN-SNOW-2001). Check NTP.`
    }
  },
  {
    name: "IdgenClockBackwardRefusals",
    expr: `increase(idgen_snowflake_clock_backward_total{tier="refused"}[5m]) > 0`,
    forMs: 0,
    severity: "critical",
    labels: {},
    annotations: {
      summary: "Snowflake requests refused because the clock stepped back",
      description: "{{ $value }} snowflake requests were refused with IDGEN-SNOW-2001 in the last 5 minutes: " +
        "the clock stepped back beyond the tolerated drift."
    }
  },
  {
    name: "IdgenWorkerLeaseLost",
    expr: "idgen_snowflake_worker_id_held == 0",
    forMs: 30_000,
    severity: "critical",
    labels: {},
    annotations: {
      summary: "Node holds no snowflake worker id",
      description: "For 30 s this node has held no confirmed worker id (lease lost, fenced or all ids taken): " +
        "snowflake requests fail with IDGEN-SNOW-2003 or fall back. Check etcd."
    }
  },
  {
    name: "IdgenWorkerLeaseLostRecently",
    expr: "increase(idgen_snowflake_leases_lost_total[10m]) > 0",
    forMs: 0,
    severity: "warning",
    labels: {},
    annotations: {
      summary: "Worker lease lost",
      description: "The node lost its etcd worker lease {{ $value }} times in the last 10 minutes."
    }
  },
  {
    name: "IdgenDegraded",
    expr: "idgen_health_status > 0",
    forMs: 60_000,
    severity: "warning",
    labels: {},
    annotations: {
      summary: "Node degraded",
      description: "/health has reported this node degraded (1) or unhealthy (2) for a minute; current value {{ $value }}."
    }
  },
  {
    name: "IdgenHighErrorRatio",
    expr: `sum by (instance) (rate(idgen_request_duration_seconds_count{outcome="server_error"}[5m])) ` +
      `/ sum by (instance) (rate(idgen_request_duration_seconds_count[5m])) > ${t.errorRatio}`,
    forMs: 300_000,
    severity: "critical",
    labels: {},
    annotations: {
      summary: "Generate requests failing",
      description: `{{ $value | humanizePercentage }} of generate requests failed with a server error over 5 minutes ` +
        `(alert above ${t.errorRatio * 100} %).`
    }
  },
  {
    name: "IdgenStorageAsynchronousReplication",
    expr: "idgen_storage_synchronous_replication == 0",
    // A configuration, not an event: only a lasting state is worth a notice.
    forMs: 600_000,
    severity: "info",
    labels: {},
    annotations: {
      summary: "Database commits are not replicated synchronously",
      description: "For 10 minutes this node's commits have not waited for a synchronous standby: a failover can lose " +
        "the last segment allocations. Only the timeline fence's safety gap (segment.failover_safety_gap) then keeps " +
        "ranges from being issued twice; it must cover what all nodes allocate within the replication lag."
    }
  },
  {
    name: "IdgenStorageFenced",
    expr: "increase(idgen_storage_fences_total[1h]) > 0",
    forMs: 0,
    severity: "warning",
    labels: {},
    annotations: {
      summary: "Segment pointers fenced after a database failover",
      description: "This node found the database on a new incarnation (a promoted standby or a restore) and moved every " +
        "segment pointer past the safety gap within the last hour. Check that the failover was intended and that the " +
        "replication lag at the failover stayed within what the gap covers."
    }
  },
  {
    name: "IdgenSegmentBufferStarvation",
    expr: "increase(idgen_segment_buffer_waits_total[5m]) > 0",
    forMs: 300_000,
    severity: "warning",
    labels: {},
    annotations: {
      summary: `Segment buffer of ${bizTag} keeps running dry`,
      description: `Requests for ${bizTag} have waited for segment refills in every 5-minute window for 5 minutes: ` +
        "the preload does not keep up (raise the step or check database latency)."
    }
  }
]

export const compile = (spec: RuleSpec): Result.Result<AlertRule, Expression.ExpressionError> =>
  Result.map(Expression.parse(spec.expr), (node) => ({ ...spec, node }))

/**
 * The rules a node runs: the built-in ones (unless disabled) with configured rules of the
 * same name replacing them, then the other configured rules. Fails on the first rule whose
 * expression does not parse, naming it.
 */
export const effectiveRules = (options: {
  readonly builtin: boolean
  readonly thresholds: Thresholds
  readonly rules: ReadonlyArray<RuleSpec>
}): Result.Result<ReadonlyArray<AlertRule>, Expression.ExpressionError> => {
  const configured = new Map(options.rules.map((r) => [r.name, r]))
  const specs = [
    ...(options.builtin ? builtinRules(options.thresholds).map((r) => configured.get(r.name) ?? r) : []),
    ...options.rules.filter((r) => !options.builtin || !builtinRules(options.thresholds).some((b) => b.name === r.name))
  ]
  const compiled: Array<AlertRule> = []
  for (const spec of specs) {
    const rule = compile(spec)
    if (Result.isFailure(rule)) {
      return Result.fail(new Expression.ExpressionError({ message: `alert rule ${spec.name}: ${rule.failure.message}` }))
    }
    compiled.push(rule.success)
  }
  return Result.succeed(compiled)
}

/** Expands `{{ $labels.name }}`, `{{ $value }}` and the `humanize`/`humanizePercentage` pipes. */
export const expandTemplate = (text: string, labels: Readonly<Record<string, string>>, value: number): string =>
  text.replace(/\{\{\s*\$(labels\.([A-Za-z_][A-Za-z0-9_]*)|value)\s*(\|\s*(humanize|humanizePercentage)\s*)?\}\}/g, (
    _,
    _what: string,
    label: string | undefined,
    _pipe: string | undefined,
    fn: string | undefined
  ) => {
    if (label !== undefined) return labels[label] ?? ""
    if (fn === "humanizePercentage") return `${round(value * 100)}%`
    return fn === "humanize" ? String(round(value)) : String(value)
  })

const round = (n: number) => Math.round(n * 1000) / 1000

/** The configured rules' expressions parse (a check of the loader: `ConfigLoader.Check`). */
export const configProblems = ({ alerting }: ServerConfigShape): ReadonlyArray<string> => {
  const rules = effectiveRules({ builtin: alerting.builtinRules, thresholds: alerting.thresholds, rules: alerting.rules })
  return Result.isFailure(rules) ? [`alerting.rules (IDGEN_ALERTING_RULES): ${rules.failure.message}`] : []
}
