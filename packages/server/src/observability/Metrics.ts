/**
 * The node's own metrics (besides the snowflake/lease ones in `snowflake/SnowflakeMetrics.ts`),
 * served as Prometheus text on `/metrics` and read by the alert evaluator.
 *
 * Conventions: `idgen_` prefix, base units in the name (`_seconds`, `_ratio`), `_total` on
 * counters, and only bounded labels: interface (http|grpc|rpc), algorithm (5 values),
 * outcome (3), error code (the contract's table), and the biz_tag triple — biz_tags are
 * created by operators, never per ID or per key (and `SegmentMetrics` caps how many it tracks).
 */
import { Metric } from "effect"

export type Interface = "http" | "grpc" | "rpc"
export type Outcome = "success" | "client_error" | "server_error"

/** Request latencies from ~100 µs (a buffered take) to seconds (a stalled database). */
export const latencyBoundaries: ReadonlyArray<number> = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5
]

export const requestDuration = (attributes: { interface: Interface; algorithm: string; outcome: Outcome }) =>
  Metric.histogram("idgen_request_duration_seconds", {
    description: "Latency of generate requests (single and batch) by interface, algorithm (none when no ID was issued) and outcome",
    boundaries: latencyBoundaries,
    attributes
  })

export const idsGenerated = (attributes: { interface: Interface; algorithm: string }) =>
  Metric.counter("idgen_ids_generated_total", {
    description: "IDs handed out to callers, by interface and the algorithm that produced them",
    incremental: true,
    attributes
  })

export const requestErrors = (attributes: { interface: Interface; code: string }) =>
  Metric.counter("idgen_request_errors_total", {
    description: "Failed generate requests by interface and IDGEN error code",
    incremental: true,
    attributes
  })

export const rateLimitRejections = (attributes: { interface: Interface }) =>
  Metric.counter("idgen_rate_limit_rejections_total", {
    description: "Requests refused with IDGEN-COMMON-0003 (rate limit), by interface",
    incremental: true,
    attributes
  })

export type AuthCredential = "api_key" | "admin_token"
export type AuthFailureReason = "missing" | "malformed" | "unknown" | "disabled" | "expired" | "invalid"

export const authFailures = (attributes: { credential: AuthCredential; reason: AuthFailureReason }) =>
  Metric.counter("idgen_auth_failures_total", {
    description: "Refused credentials (API keys on the ID interfaces, the admin token on the operator API), by reason",
    incremental: true,
    attributes
  })

/** `cached`: a key refused moments ago; `throttled`: its address has no failed attempt left. */
export type AuthShortCut = "cached" | "throttled"

export const authRefusedWithoutLookup = (attributes: { reason: AuthShortCut }) =>
  Metric.counter("idgen_auth_refused_without_lookup_total", {
    description: "API keys refused from memory, before any lookup (negative cache, per-address limit of failed attempts)",
    incremental: true,
    attributes
  })

// --- segment, per biz_tag (scrape-time reads, see SegmentMetrics.ts) ----------------------

export type BizTagLabels = {
  readonly workspace: string
  readonly group: string
  readonly biz_tag: string
}

export const segmentBuffered = (attributes: BizTagLabels) =>
  Metric.gauge("idgen_segment_buffered_ids", {
    description: "Numbers left in the biz_tag's double buffer on this node (current and next segment)",
    attributes
  })
export const segmentCurrentRemaining = (attributes: BizTagLabels) =>
  Metric.gauge("idgen_segment_current_remaining_ids", {
    description: "Numbers left in the biz_tag's current segment on this node",
    attributes
  })
export const segmentBufferFill = (attributes: BizTagLabels) =>
  Metric.gauge("idgen_segment_buffer_fill_ratio", {
    description: "Double-buffer fill: the unconsumed fraction of the current segment, plus 1 when the next segment is loaded (0–2)",
    attributes
  })
export const segmentStep = (attributes: BizTagLabels) =>
  Metric.gauge("idgen_segment_step", {
    description: "Step (segment size) the biz_tag's next allocation will ask for",
    attributes
  })
export const segmentLoads = (attributes: BizTagLabels) =>
  Metric.counter("idgen_segment_loads_total", {
    description: "Segments allocated from storage for the biz_tag by this node",
    incremental: true,
    attributes
  })
export const segmentWaits = (attributes: BizTagLabels) =>
  Metric.counter("idgen_segment_buffer_waits_total", {
    description: "Takes that found the buffer empty and waited for a refill (buffer starvation)",
    incremental: true,
    attributes
  })
export const segmentRefillDuration = (attributes: BizTagLabels) =>
  Metric.histogram("idgen_segment_refill_duration_seconds", {
    description: "Time to allocate one segment from storage (one database transaction)",
    boundaries: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    attributes
  })
export const segmentRefillFailures = (attributes: BizTagLabels) =>
  Metric.counter("idgen_segment_refill_failures_total", {
    description: "Segment allocations that failed (database unavailable, range exhausted)",
    incremental: true,
    attributes
  })
export const rangeRemaining = (attributes: BizTagLabels) =>
  Metric.gauge("idgen_segment_range_remaining", {
    description: "Numbers of this datacenter's range not yet allocated, as of this node's last allocation",
    attributes
  })
export const rangeRemainingRatio = (attributes: BizTagLabels) =>
  Metric.gauge("idgen_segment_range_remaining_ratio", {
    description: "Fraction (0–1) of this datacenter's range not yet allocated; capacity alerts fire below 0.2",
    attributes
  })

// --- node state -----------------------------------------------------------------------------

export const healthStatus = Metric.gauge("idgen_health_status", {
  description: "Health of this node: 0 healthy, 1 degraded, 2 unhealthy (as /health reports it)"
})
export const healthCheckStatus = (check: string) =>
  Metric.gauge("idgen_health_check_status", {
    description: "Each health check: 0 healthy, 1 degraded, 2 unhealthy",
    attributes: { check }
  })

export const tlsReloads = (outcome: "success" | "failure") =>
  Metric.counter("idgen_tls_reloads_total", {
    description: "Reloads of the TLS certificate and key files, by outcome (a failure keeps the previous pair)",
    incremental: true,
    attributes: { outcome }
  })
export const tlsCertificateExpiry = Metric.gauge("idgen_tls_certificate_expiry_timestamp_seconds", {
  description: "Unix time at which the served TLS certificate expires"
})

// --- alerting -------------------------------------------------------------------------------

export const alertsActive = (attributes: { alertname: string; severity: string; state: "pending" | "firing" }) =>
  Metric.gauge("idgen_alerts", {
    description: "Alert instances of this node's evaluator, by rule, severity and state",
    attributes
  })
export const alertEvaluations = (outcome: "success" | "failure") =>
  Metric.counter("idgen_alert_evaluations_total", {
    description: "Rule evaluations by outcome (a failure is a rule whose expression could not be evaluated)",
    incremental: true,
    attributes: { outcome }
  })
export const alertNotifications = (attributes: { channel: string; outcome: "success" | "failure" }) =>
  Metric.counter("idgen_alert_notifications_total", {
    description: "Notifications sent by the alert evaluator, by channel type and outcome",
    incremental: true,
    attributes
  })
