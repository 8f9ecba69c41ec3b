/**
 * The audit log in the `audit_log` table. Recording never fails and never
 * waits for the database: events go to a bounded in-memory queue that one fiber writes
 * out in batches. While the database is down (the very moment degradation events happen)
 * they wait in the queue and are written once it is back; beyond `maxPending` the newest
 * are dropped and counted, since an audit trail must not take the node down with it.
 * A second fiber deletes rows older than `audit.retentionDays` every hour.
 *
 * Key-use failures come from outside — a client looping on a bad key, or a scan of made-up
 * keys or admin tokens — so they are sampled, per node and per action (the credential
 * checked: `verify_api_key`, `verify_admin_token`): a token bucket lets through
 * `keyFailureLimit` (a burst of 100, then 10 a second) as rows of their own; the rest are
 * counted by reason and written as one `<action>_suppressed` row per `summaryInterval` that
 * had any. A flood of bad credentials thus costs at most about 10 rows a second per kind and
 * node — a flood of bad API keys does not push failed admin logins out of the trail — and
 * the trail still says how many failures there were (`idgen_auth_failures_total` counts
 * each one).
 */
import { AuditActions, TokenBucket } from "@idgen/core"
import { Array as Arr, Clock, Context, Effect, Layer, Metric, Queue, Schedule } from "effect"
import { SqlClient } from "effect/sql"
import { ServerConfig } from "../config/ServerConfig.ts"
import { tracked } from "../observability/EventLoopDelay.ts"

export type AuditEventType = "operator" | "key_use_failure" | "degradation"

export interface AuditEvent {
  readonly eventType: AuditEventType
  /** Who acted: an operator, a key prefix, or the node. */
  readonly actor: string | null
  readonly action: AuditActions.Action
  readonly resource: string
  readonly result: "success" | "failure"
  readonly metadata: Readonly<Record<string, unknown>>
}

/**
 * The workspace an event concerns, for the audit log's `workspace` filter: named by its
 * resource (`workspace:<ws>`, `biz_tag:<ws>/…`), its details, or — for a refused key — the
 * key's public prefix `idgen_<ws>_<8 hex>`.
 */
export const workspaceOf = (event: AuditEvent): string | null => {
  if (event.resource.startsWith("workspace:")) return event.resource.slice("workspace:".length)
  if (event.resource.startsWith("biz_tag:")) return event.resource.slice("biz_tag:".length).split("/")[0]!
  const named = event.metadata["workspace"]
  if (typeof named === "string") return named
  const prefix = event.eventType === "key_use_failure" && event.actor !== null ? keyPrefix.exec(event.actor) : null
  return prefix === null ? null : prefix[1]!
}

const keyPrefix = /^idgen_(.+)_[0-9a-f]{8}$/

const isKeyUseFailure = (action: AuditActions.Action): action is AuditActions.KeyUseFailureAction =>
  (AuditActions.keyUseFailureActions as ReadonlyArray<string>).includes(action)

const maxPending = 10_000
const batchSize = 500

const keyFailureLimit: TokenBucket.Limit = { perSecond: 10, burst: 100 }
const summaryInterval = "5 seconds"

const sampledOut = Metric.counter("idgen_audit_key_failures_suppressed_total", {
  description: "Key-use failures (bad API keys, bad admin tokens) audited only in a per-interval summary row (sampling of floods)",
  incremental: true
})

/** Key-use failures of one action not yet written as rows of their own. */
interface Sampler {
  bucket: TokenBucket.Bucket
  readonly resource: string
  /** Failures left out since the last summary, by reason. */
  suppressed: Map<string, number>
  since: number
}

const dropped = Metric.counter("idgen_audit_events_dropped_total", {
  description: "Audit events dropped because the write queue was full (database down for long)",
  incremental: true
})

export class AuditLog extends Context.Service<AuditLog, {
  readonly record: (event: AuditEvent) => Effect.Effect<void>
  /** Writes what is queued now (tests, shutdown). */
  readonly flush: Effect.Effect<void>
}>()("@idgen/server/audit/AuditLog") {
  static readonly layer = Layer.effect(
    AuditLog,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const config = yield* ServerConfig
      const node = config.node.name
      const queue = yield* Queue.dropping<AuditEvent & { readonly at: Date }>(maxPending)
      // On the page at zero from the start.
      yield* Metric.value(sampledOut)
      yield* Metric.value(dropped)

      const insert = (events: ReadonlyArray<AuditEvent & { readonly at: Date }>) =>
        !Arr.isReadonlyArrayNonEmpty(events) ? Effect.void : sql`INSERT INTO audit_log ${
          sql.insert(Arr.map(events, (e) => ({
            occurred_at: e.at,
            event_type: e.eventType,
            actor: e.actor,
            action: e.action,
            resource: e.resource,
            result: e.result,
            node,
            workspace: workspaceOf(e),
            metadata: JSON.stringify(e.metadata)
          })))
        }`.pipe(Effect.asVoid)

      // Retries the same batch until the database takes it: events are kept in order.
      const writeBatch = Effect.gen(function*() {
        const batch = yield* Queue.takeBetween(queue, 1, batchSize)
        yield* insert(batch).pipe(
          tracked("audit batch write"),
          Effect.retry(Schedule.spaced("1 second")),
          Effect.catchCause((cause) => Effect.logWarning("audit batch lost", cause))
        )
      })
      yield* Effect.forkScoped(Effect.forever(writeBatch))

      const sweep = sql`DELETE FROM audit_log WHERE occurred_at < now() - make_interval(days => ${config.audit.retentionDays})`.pipe(
        Effect.catchCause((cause) => Effect.logDebug("audit retention sweep skipped", cause))
      )
      yield* Effect.forkScoped(sweep.pipe(tracked("audit retention sweep"), Effect.repeat(Schedule.spaced("1 hour"))))

      const enqueue = (event: AuditEvent, ms: number) =>
        Effect.flatMap(Queue.offer(queue, { ...event, at: new Date(ms) }), (accepted) =>
          accepted ? Effect.void : Metric.update(dropped, 1))

      /** Sampling state by action; the actions are the server's own, so the map stays small. */
      const samplers = new Map<AuditActions.KeyUseFailureAction, Sampler>()

      const record = (event: AuditEvent) =>
        Effect.flatMap(Clock.currentTimeMillis, (ms) => {
          const action = event.action
          if (event.eventType !== "key_use_failure" || !isKeyUseFailure(action)) return enqueue(event, ms)
          let sampler = samplers.get(action)
          if (sampler === undefined) {
            sampler = { bucket: TokenBucket.full(keyFailureLimit, ms), resource: event.resource, suppressed: new Map(), since: 0 }
            samplers.set(action, sampler)
          }
          const decision = TokenBucket.take(keyFailureLimit, sampler.bucket, ms)
          sampler.bucket = decision.bucket
          if (decision.allowed) return enqueue(event, ms)
          if (sampler.suppressed.size === 0) sampler.since = ms
          const reason = String(event.metadata["reason"] ?? event.action)
          sampler.suppressed.set(reason, (sampler.suppressed.get(reason) ?? 0) + 1)
          return Metric.update(sampledOut, 1)
        })

      const summarize = Effect.flatMap(Clock.currentTimeMillis, (ms) =>
        Effect.forEach(samplers, ([action, sampler]) => {
          if (sampler.suppressed.size === 0) return Effect.void
          const byReason = Object.fromEntries(sampler.suppressed)
          sampler.suppressed = new Map()
          return enqueue({
            eventType: "key_use_failure",
            actor: null,
            action: AuditActions.suppressed(action),
            resource: sampler.resource,
            result: "failure",
            metadata: {
              count: Object.values(byReason).reduce((a, b) => a + b, 0),
              by_reason: byReason,
              since: new Date(sampler.since).toISOString()
            }
          }, ms)
        }, { discard: true }))
      yield* Effect.forkScoped(summarize.pipe(Effect.repeat(Schedule.spaced(summaryInterval))))

      const flush = Effect.gen(function*() {
        yield* summarize
        const pending = yield* Queue.clear(queue)
        if (pending.length > 0) yield* insert(pending).pipe(Effect.ignore)
      })

      return AuditLog.of({ record, flush })
    })
  )
}
