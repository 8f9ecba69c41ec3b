/**
 * Where alert notifications go:
 *
 * - `log`: one log line per transition (warning when firing, info when resolved);
 * - `webhook`: the JSON body Alertmanager itself posts to webhook receivers (version 4:
 *   `status`, `groupLabels`, `commonLabels`, `alerts[]` with `startsAt`/`endsAt`/
 *   `fingerprint`), one POST per alert name and status, so receivers written for
 *   Alertmanager accept it as is;
 * - `alertmanager`: the alerts posted to an Alertmanager's `/api/v2/alerts`, which
 *   then groups, silences and routes them like Prometheus' own.
 *
 * Delivery is retried (3 attempts, backoff) with a per-attempt timeout; failures are
 * logged and counted, never fail the evaluation.
 */
import { Effect, Metric, Schedule } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"
import * as AlertMetrics from "./AlertMetrics.ts"

export interface Notification {
  readonly status: "firing" | "resolved"
  readonly labels: Readonly<Record<string, string>>
  readonly annotations: Readonly<Record<string, string>>
  readonly startsAt: string
  /** For resolved alerts; Alertmanager's zero time otherwise. */
  readonly endsAt: string
  readonly fingerprint: string
  readonly value: number | undefined
}

export const zeroTime = "0001-01-01T00:00:00Z"

/** The Alertmanager webhook body for alerts of one name and status. */
export const webhookPayload = (
  alerts: ReadonlyArray<Notification>,
  options: { readonly receiver: string; readonly externalUrl: string }
) => {
  const first = alerts[0]!
  const groupLabels = { alertname: first.labels.alertname ?? "" }
  const common = (pick: (n: Notification) => Readonly<Record<string, string>>) =>
    Object.fromEntries(
      Object.entries(pick(first)).filter(([k, v]) => alerts.every((a) => pick(a)[k] === v))
    )
  return {
    version: "4",
    groupKey: `{}:{alertname=${JSON.stringify(groupLabels.alertname)}}`,
    truncatedAlerts: 0,
    status: first.status,
    receiver: options.receiver,
    groupLabels,
    commonLabels: common((a) => a.labels),
    commonAnnotations: common((a) => a.annotations),
    externalURL: options.externalUrl,
    alerts: alerts.map((a) => ({
      status: a.status,
      labels: a.labels,
      annotations: a.annotations,
      startsAt: a.startsAt,
      endsAt: a.endsAt,
      generatorURL: options.externalUrl,
      fingerprint: a.fingerprint
    }))
  }
}

/** The Alertmanager API v2 body (`POST /api/v2/alerts`). */
export const alertmanagerPayload = (alerts: ReadonlyArray<Notification>, generatorUrl: string, endsAtIfFiring: string) =>
  alerts.map((a) => ({
    labels: a.labels,
    annotations: a.annotations,
    startsAt: a.startsAt,
    // A firing alert is given an end a few evaluations ahead and re-sent before it: if this
    // node dies, Alertmanager resolves it by itself.
    endsAt: a.status === "resolved" ? a.endsAt : endsAtIfFiring,
    generatorURL: generatorUrl
  }))

const deliver = (channel: "webhook" | "alertmanager", url: string, body: unknown, timeoutMillis: number) =>
  Effect.gen(function*() {
    const client = (yield* HttpClient.HttpClient).pipe(HttpClient.filterStatusOk)
    yield* client.execute(HttpClientRequest.post(url).pipe(HttpClientRequest.bodyJsonUnsafe(body))).pipe(
      Effect.flatMap((response) => response.text),
      Effect.timeout(timeoutMillis),
      Effect.retry({ schedule: Schedule.exponential(200), times: 2 })
    )
  }).pipe(
    Effect.tap(() => Metric.update(AlertMetrics.alertNotifications({ channel, outcome: "success" }), 1)),
    Effect.catchCause((cause) =>
      Effect.andThen(
        Metric.update(AlertMetrics.alertNotifications({ channel, outcome: "failure" }), 1),
        Effect.logWarning(`alert notification to ${url} failed`, cause)
      )
    ),
    // The exporter's own requests are not what an operator traces.
    Effect.withTracerEnabled(false)
  )

/** Posts `alerts` (one name, one status) to a webhook receiver. */
export const sendWebhook = (
  url: string,
  alerts: ReadonlyArray<Notification>,
  options: { readonly receiver: string; readonly externalUrl: string; readonly timeoutMillis: number }
) => deliver("webhook", url, webhookPayload(alerts, options), options.timeoutMillis)

/** Posts `alerts` to an Alertmanager (base URL). */
export const sendAlertmanager = (
  baseUrl: string,
  alerts: ReadonlyArray<Notification>,
  options: { readonly generatorUrl: string; readonly endsAtIfFiring: string; readonly timeoutMillis: number }
) =>
  deliver(
    "alertmanager",
    `${baseUrl.replace(/\/+$/, "")}/api/v2/alerts`,
    alertmanagerPayload(alerts, options.generatorUrl, options.endsAtIfFiring),
    options.timeoutMillis
  )

/** One log line per transition. */
export const log = (alert: Notification) => {
  const text = `alert ${alert.labels.alertname} ${alert.status}: ${alert.annotations.summary ?? ""}`.trimEnd()
  const annotated = Effect.annotateLogs({
    alertname: alert.labels.alertname ?? "",
    severity: alert.labels.severity ?? "",
    fingerprint: alert.fingerprint,
    ...(alert.annotations.description === undefined ? {} : { description: alert.annotations.description })
  })
  return Effect.andThen(
    alert.status === "firing" ? annotated(Effect.logWarning(text)) : annotated(Effect.logInfo(text)),
    Metric.update(AlertMetrics.alertNotifications({ channel: "log", outcome: "success" }), 1)
  )
}
