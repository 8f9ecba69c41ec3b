/**
 * The node's alert evaluator: a supervised fiber that, every
 * `alerting.evaluation_interval_ms`, snapshots this node's metrics, evaluates every rule
 * (built-in and configured, see `AlertRules`), moves each alert instance through
 * Pending → Firing → Resolved (`AlertState`) and notifies the channels of each transition.
 *
 * Rules, thresholds, channels and the interval are live settings: each tick reads them
 * from `LiveConfig`, so a reload or an operator change applies at the next evaluation
 * (instances of a rule that disappears resolve). A failing tick is logged and the loop
 * goes on; a rule that cannot be evaluated is counted and skipped.
 */
import { Cause, Clock, Context, Effect, Layer, Metric, Result } from "effect"
import { FetchHttpClient, HttpClient } from "effect/http"
import { createHash } from "node:crypto"
import { LiveConfig } from "../config/HotReload.ts"
import { ServerConfig, type ServerConfigShape } from "../config/ServerConfig.ts"
import * as AlertMetrics from "./AlertMetrics.ts"
import * as AlertChannels from "./AlertChannels.ts"
import * as AlertRules from "./AlertRules.ts"
import * as AlertState from "./AlertState.ts"
import * as Expression from "./Expression.ts"
import { flatten, SampleHistory, snapshotWanted } from "./MetricSamples.ts"
import { tracked } from "../observability/EventLoopDelay.ts"

export interface AlertView {
  readonly name: string
  readonly state: "pending" | "firing" | "resolved"
  readonly severity: string
  readonly labels: Readonly<Record<string, string>>
  readonly annotations: Readonly<Record<string, string>>
  readonly value: number | null
  readonly active_since: string | null
  readonly fired_at: string | null
  readonly resolved_at: string | null
  readonly fingerprint: string
}

interface Instance {
  readonly rule: string
  readonly severity: string
  readonly labels: Readonly<Record<string, string>>
  annotations: Readonly<Record<string, string>>
  state: AlertState.AlertState
  readonly fingerprint: string
}

/** Resolved alerts stay listed (and are re-announced to Alertmanager) this long. */
const resolvedRetentionMs = 15 * 60_000
/** Firing alerts are re-sent to Alertmanager at least this often. */
const alertmanagerResendMs = 60_000

export class AlertEvaluator extends Context.Service<AlertEvaluator, {
  /** Pending, firing and recently resolved alerts, firing first. */
  readonly alerts: () => ReadonlyArray<AlertView>
  /** Runs one evaluation now (the fiber keeps its own schedule). */
  readonly evaluate: Effect.Effect<void>
}>()("@idgen/server/alerting/AlertEvaluator") {
  /** The evaluator and its fiber; notifications use `HttpClient` (fetch by default). */
  static readonly layerWith: Layer.Layer<AlertEvaluator, never, LiveConfig | ServerConfig | HttpClient.HttpClient> =
    Layer.effect(AlertEvaluator, Effect.suspend(() => make))

  static readonly layer: Layer.Layer<AlertEvaluator, never, LiveConfig | ServerConfig> = AlertEvaluator.layerWith.pipe(
    Layer.provide(FetchHttpClient.layer)
  )
}

const fingerprintOf = (labels: Readonly<Record<string, string>>) =>
  createHash("sha256").update(Expression.labelKey(labels)).digest("hex").slice(0, 16)

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString())

const make = Effect.gen(function*() {
  const live = yield* LiveConfig
  const node = (yield* ServerConfig).node
  const http = (yield* ServerConfig).http
  const clock = yield* Clock.Clock
  const httpClient = yield* HttpClient.HttpClient
  const context: Context.Context<never> = yield* Effect.context()
  const history = new SampleHistory()
  const instances = new Map<string, Instance>()
  const seenGaugeKeys = new Set<string>()
  let lastAlertmanagerSend = 0
  let compiledFor: ServerConfigShape["alerting"] | undefined
  let rules: ReadonlyArray<AlertRules.AlertRule> = []

  // Validated when the configuration was loaded; recompiled only when it changes.
  const currentRules = (alerting: ServerConfigShape["alerting"]) => {
    if (alerting !== compiledFor) {
      compiledFor = alerting
      const compiled = AlertRules.effectiveRules({
        builtin: alerting.builtinRules,
        thresholds: alerting.thresholds,
        rules: alerting.rules
      })
      rules = Result.isSuccess(compiled) ? compiled.success : rules
    }
    return rules
  }

  const externalUrl = `http://${node.name}:${http.port}/api/v1/admin/alerts`

  const notify = (
    alerting: ServerConfigShape["alerting"],
    transitions: ReadonlyArray<AlertChannels.Notification>,
    firing: ReadonlyArray<AlertChannels.Notification>,
    nowMs: number
  ) =>
    Effect.gen(function*() {
      if (alerting.logChannel) yield* Effect.forEach(transitions, AlertChannels.log, { discard: true })
      const deliveries: Array<Effect.Effect<void, never, HttpClient.HttpClient>> = []
      // One webhook message per alert name and status, as Alertmanager groups by alertname.
      const groups = new Map<string, Array<AlertChannels.Notification>>()
      for (const t of transitions) {
        const key = `${t.labels.alertname}|${t.status}`
        groups.set(key, [...(groups.get(key) ?? []), t])
      }
      for (const url of alerting.webhookUrls) {
        for (const alerts of groups.values()) {
          deliveries.push(
            AlertChannels.sendWebhook(url, alerts, {
              receiver: "idgen",
              externalUrl,
              timeoutMillis: alerting.notifyTimeoutMillis
            })
          )
        }
      }
      const resend = nowMs - lastAlertmanagerSend >= alertmanagerResendMs && firing.length > 0
      if (alerting.alertmanagerUrls.length > 0 && (transitions.length > 0 || resend)) {
        lastAlertmanagerSend = nowMs
        const batch = [...firing, ...transitions.filter((t) => t.status === "resolved")]
        const endsAt = new Date(nowMs + 4 * Math.max(alerting.evaluationIntervalMillis, alertmanagerResendMs)).toISOString()
        for (const url of alerting.alertmanagerUrls) {
          deliveries.push(AlertChannels.sendAlertmanager(url, batch, {
            generatorUrl: externalUrl,
            endsAtIfFiring: endsAt,
            timeoutMillis: alerting.notifyTimeoutMillis
          }))
        }
      }
      // Delivery never holds up the next evaluation.
      if (deliveries.length > 0) yield* Effect.forkDetach(Effect.all(deliveries, { concurrency: "unbounded", discard: true }))
    })

  const toNotification = (instance: Instance): AlertChannels.Notification => ({
    status: instance.state.status === "resolved" ? "resolved" : "firing",
    labels: instance.labels,
    annotations: instance.annotations,
    startsAt: iso(instance.state.activeSinceMs) ?? AlertChannels.zeroTime,
    endsAt: iso(instance.state.resolvedAtMs) ?? AlertChannels.zeroTime,
    fingerprint: instance.fingerprint,
    value: instance.state.value
  })

  const updateGauges = () => {
    const counts = new Map<string, number>()
    for (const instance of instances.values()) {
      if (instance.state.status !== "pending" && instance.state.status !== "firing") continue
      const key = `${instance.rule}|${instance.severity}|${instance.state.status}`
      counts.set(key, (counts.get(key) ?? 0) + 1)
    }
    for (const key of new Set([...seenGaugeKeys, ...counts.keys()])) {
      seenGaugeKeys.add(key)
      const [alertname, severity, state] = key.split("|") as [string, string, "pending" | "firing"]
      AlertMetrics.alertsActive({ alertname, severity, state }).updateUnsafe(counts.get(key) ?? 0, context)
    }
  }

  const evaluate = Effect.gen(function*() {
    const alerting = live.current().alerting
    if (!alerting.enabled) return
    const nowMs = clock.currentTimeMillisUnsafe()
    const active = currentRules(alerting)
    const wanted = new Set(active.flatMap((r) => Expression.metricNames(r.node)))
    const keepMs = Math.max(...active.map((r) => Expression.maxRangeMs(r.node)), 0) + 2 * alerting.evaluationIntervalMillis
    const source = history.record(flatten(snapshotWanted(context, wanted), wanted), nowMs, keepMs)
    const seen = new Set<string>()
    const transitions: Array<AlertChannels.Notification> = []

    const advance = (instance: Instance, value: number | undefined, forMs: number) => {
      const next = AlertState.step(instance.state, value, nowMs, forMs)
      instance.state = next.state
      if (next.transition === "firing" || next.transition === "resolved") transitions.push(toNotification(instance))
    }

    for (const rule of active) {
      const result = Expression.evaluate(rule.node, source)
      if (Result.isFailure(result)) {
        yield* Metric.update(AlertMetrics.alertEvaluations("failure"), 1)
        yield* Effect.logWarning(`alert rule ${rule.name} could not be evaluated: ${result.failure.message}`)
        // Keep its instances as they are: an unreadable rule is no evidence of recovery.
        for (const [key, instance] of instances) if (instance.rule === rule.name) seen.add(key)
        continue
      }
      yield* Metric.update(AlertMetrics.alertEvaluations("success"), 1)
      for (const sample of result.success) {
        // `instance` names the node, as Prometheus's target label does, for routing and inhibition.
        const labels = {
          ...sample.labels,
          ...alerting.labels,
          ...rule.labels,
          instance: node.name,
          alertname: rule.name,
          severity: rule.severity
        }
        const key = `${rule.name}{${Expression.labelKey(labels)}}`
        seen.add(key)
        let instance = instances.get(key)
        if (instance === undefined) {
          instance = {
            rule: rule.name,
            severity: rule.severity,
            labels,
            annotations: {},
            state: AlertState.inactive,
            fingerprint: fingerprintOf(labels)
          }
          instances.set(key, instance)
        }
        instance.annotations = Object.fromEntries(
          Object.entries(rule.annotations).map(([k, v]) => [k, AlertRules.expandTemplate(v, labels, sample.value)])
        )
        advance(instance, sample.value, rule.forMs)
      }
    }
    const forOf = new Map(active.map((r) => [r.name, r.forMs]))
    for (const [key, instance] of instances) {
      if (!seen.has(key)) advance(instance, undefined, forOf.get(instance.rule) ?? 0)
      const s = instance.state
      if (s.status === "inactive" || (s.status === "resolved" && nowMs - s.resolvedAtMs! > resolvedRetentionMs)) {
        instances.delete(key)
      }
    }
    updateGauges()
    const firing = [...instances.values()].filter((i) => i.state.status === "firing").map(toNotification)
    yield* notify(alerting, transitions, firing, nowMs)
  }).pipe(
    Effect.provideService(HttpClient.HttpClient, httpClient),
    Effect.catchCause((cause) =>
      Cause.hasInterruptsOnly(cause) ? Effect.failCause(cause) : Effect.logError("alert evaluation failed", cause)
    ),
    Effect.withTracerEnabled(false)
  )

  // On the page at zero from the start: every rule's pending and firing count, evaluations
  // and notifications by outcome.
  for (const rule of currentRules(live.current().alerting)) {
    for (const state of ["pending", "firing"]) seenGaugeKeys.add(`${rule.name}|${rule.severity}|${state}`)
  }
  updateGauges()
  for (const outcome of ["success", "failure"] as const) {
    yield* Metric.value(AlertMetrics.alertEvaluations(outcome))
    for (const channel of ["log", "webhook", "alertmanager"]) yield* Metric.value(AlertMetrics.alertNotifications({ channel, outcome }))
  }

  // The supervised loop: it lives as long as the layer, whatever a tick does.
  yield* Effect.suspend(() => Effect.sleep(live.current().alerting.evaluationIntervalMillis)).pipe(
    Effect.andThen(tracked("alert evaluation")(evaluate)),
    Effect.forever,
    Effect.forkScoped
  )

  const alerts = (): ReadonlyArray<AlertView> => {
    const order = { firing: 0, pending: 1, resolved: 2, inactive: 3 }
    return [...instances.values()]
      .filter((i) => i.state.status !== "inactive")
      .sort((a, b) => order[a.state.status] - order[b.state.status] || a.rule.localeCompare(b.rule))
      .map((i) => ({
        name: i.rule,
        state: i.state.status as AlertView["state"],
        severity: i.severity,
        labels: i.labels,
        annotations: i.annotations,
        value: i.state.value ?? null,
        active_since: iso(i.state.activeSinceMs),
        fired_at: iso(i.state.firedAtMs),
        resolved_at: iso(i.state.resolvedAtMs),
        fingerprint: i.fingerprint
      }))
  }

  return AlertEvaluator.of({ alerts, evaluate })
})
