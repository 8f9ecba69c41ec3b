/** The alert evaluator's own metrics: alert instances by state, evaluations, notifications. */
import { Metric } from "effect"

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
