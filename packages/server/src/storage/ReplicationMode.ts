/**
 * Whether this node's commits survive a database failover: synchronous replication
 * configured (`synchronous_standby_names` set and this session's `synchronous_commit` one of
 * on, remote_write, remote_apply: a commit returns only once a standby has it) or not (a
 * promoted standby can miss the last commits; the timeline fence and its safety gap,
 * `StorageFence.ts`, keep segment ranges from being handed out twice then).
 *
 * Probed at start (logged: info when synchronous, a warning when not) and every 30 s after
 * (logged when it changes); read by `/health` (check `replication`, informational: it never
 * degrades the node) and published as `idgen_storage_synchronous_replication` and
 * `idgen_storage_standbys`. The embedded store has no replication and publishes neither.
 */
import { Context, Effect, Layer, Metric, Schedule } from "effect"
import { SqlClient } from "effect/sql"
import { ServerConfig } from "../config/ServerConfig.ts"
import * as StorageMetrics from "./StorageMetrics.ts"

export interface ReplicationState {
  readonly mode: "synchronous" | "asynchronous" | "embedded"
  /** What was found and what it means, for `/health` and the log. */
  readonly message: string
}

const refreshEvery = "30 seconds"
const synchronousCommits = new Set(["on", "remote_write", "remote_apply"])

export class ReplicationMode extends Context.Service<ReplicationMode, {
  /** The last probe's finding; `undefined` until a probe succeeded. */
  readonly current: () => ReplicationState | undefined
}>()("@idgen/server/storage/ReplicationMode") {
  static readonly layer: Layer.Layer<ReplicationMode, never, SqlClient.SqlClient | ServerConfig> = Layer.effect(
    ReplicationMode,
    Effect.gen(function*() {
      const config = yield* ServerConfig
      if (config.database.url === undefined) {
        const embedded: ReplicationState = { mode: "embedded", message: "embedded store: no replication" }
        return ReplicationMode.of({ current: () => embedded })
      }
      const sql = yield* SqlClient.SqlClient
      const gap = config.segment.failoverSafetyGap
      let state: ReplicationState | undefined

      const probe = Effect.gen(function*() {
        const [row] = yield* sql<{ names: string; commit: string; standbys: number; synchronous: number }>`
          SELECT current_setting('synchronous_standby_names') AS names, current_setting('synchronous_commit') AS commit,
                 (SELECT count(*)::integer FROM pg_stat_replication) AS standbys,
                 (SELECT count(*)::integer FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum')) AS synchronous`
        const { names, commit, standbys, synchronous } = row!
        const next: ReplicationState = names.trim() !== "" && synchronousCommits.has(commit)
          ? {
            mode: "synchronous",
            message: `synchronous: a commit returns once a standby of '${names}' has it (synchronous_commit=${commit}; ` +
              `${synchronous} of ${standbys} streaming standbys synchronous now)`
          }
          : {
            mode: "asynchronous",
            message: `asynchronous: a failover can lose the last commits (synchronous_standby_names ` +
              `${names.trim() === "" ? "empty" : `'${names}'`}, synchronous_commit=${commit}, ${standbys} streaming standbys); ` +
              `after one, every segment pointer skips ${gap} numbers (segment.failover_safety_gap)`
          }
        yield* Metric.update(StorageMetrics.synchronousReplication, next.mode === "synchronous" ? 1 : 0)
        yield* Metric.update(StorageMetrics.standbys, standbys)
        if (next.mode !== state?.mode) {
          const log = next.mode === "synchronous" ? Effect.logInfo : Effect.logWarning
          yield* log(`database replication: ${next.message}`)
        }
        state = next
      }).pipe(
        Effect.catch((error) => Effect.logWarning("database replication mode could not be read", error)),
        Effect.withTracerEnabled(false)
      )

      yield* probe
      // On the page at zero from the start (incremented by `StorageFence`).
      yield* Metric.value(StorageMetrics.fences)
      yield* probe.pipe(Effect.repeat(Schedule.spaced(refreshEvery)), Effect.delay(refreshEvery), Effect.forkScoped)
      return ReplicationMode.of({ current: () => state })
    })
  )
}
