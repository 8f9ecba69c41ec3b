/**
 * The static worker id (`node.worker_id`, no etcd) behind the `WorkerIdentity` seam, with
 * the guarantees of a leased one, kept in the node's own storage (`SnowflakeWorkerRepo`:
 * PostgreSQL or the embedded store). One supervised fiber runs the lifecycle, over and over:
 *
 * 1. hold the (datacenter, worker) row: free, released, or its holder's heartbeat older
 *    than `snowflake.static_hold_timeout_ms` (database time) — at once on the embedded
 *    store, as its data-directory lock proves the previous process gone, and when the
 *    holder is this data directory's previous process, gone (`HolderRecord`: a kill -9
 *    restart). Held by a live node → IDGEN-SNOW-2003, not ready, one log line; retried;
 * 2. heartbeat every tick, raising the reserved ceiling with it when less than half of
 *    `snowflake.ceiling_window_ms` is left;
 * 3. wait until the clock is past the ceiling the id's previous holders recorded (bounded
 *    by `snowflake.static_ceiling_wait_ms`, see `CeilingWait`), reserve a window ahead,
 *    and only then issue;
 * 4. taken over (a guarded write finds another holder): stop at once, back to 1. On
 *    shutdown: record the highest timestamp issued as the ceiling and free the row, so a
 *    quick restart does not wait out the reservation.
 *
 * Fencing: the grant's ceiling is always a value storage has committed, and the generator
 * never issues above it. With storage unreachable the reservation is not extended, so
 * issuing stops when the clock reaches it; whoever takes the id over meanwhile starts
 * above it. Whatever either node believes, their timestamps never meet.
 */
import { Errors } from "@idgen/core"
import { Cause, Clock, Deferred, Effect, Exit, Layer } from "effect"
import { randomBytes } from "node:crypto"
import { ServerConfig } from "../config/ServerConfig.ts"
import { type Acquired, SnowflakeWorkerRepo } from "../storage/SnowflakeWorkerRepo.ts"
import * as CeilingWait from "./CeilingWait.ts"
import * as HolderRecord from "./HolderRecord.ts"
import * as Lifecycle from "./Lifecycle.ts"
import * as SnowflakeMetrics from "./SnowflakeMetrics.ts"
import * as TimestampCeiling from "./TimestampCeiling.ts"
import { GrantState, type WorkerGrant, WorkerIdentity } from "./WorkerIdentity.ts"

/** Pause between attempts while storage is unreachable or another node holds the id. */
const RETRY_MS = 500

export const layer: Layer.Layer<WorkerIdentity, never, ServerConfig | SnowflakeWorkerRepo> = Layer.effect(
  WorkerIdentity,
  Effect.gen(function*() {
    const config = yield* ServerConfig
    const repo = yield* SnowflakeWorkerRepo
    const clock = yield* Clock.Clock
    const context = yield* Effect.context<never>()
    const { datacenterId, workerId } = config.node
    const slot = { datacenterId, workerId }
    const windowMs = config.snowflake.ceilingWindowMillis
    const timeoutMs = config.snowflake.staticHoldTimeoutMillis
    const tickMs = Math.max(100, Math.min(1000, Math.floor(windowMs / 4), Math.floor(timeoutMs / 3)))
    // The instance token tells this process from an earlier one of the same node.
    const holder = `${config.node.name}#${randomBytes(4).toString("hex")}`
    // Only this process can open the embedded store: any other holder recorded there is gone.
    const replaceAny = config.database.url === undefined
    const ceilingWait = yield* CeilingWait.make(config.snowflake.clockLogicalThresholdMillis)
    const name = `worker ${workerId} of datacenter ${datacenterId}`

    const unavailable = (message: string, details: Record<string, unknown> = {}) =>
      new Errors.NoAvailableWorkerId({ message, details: { datacenter_id: datacenterId, worker_id: workerId, ...details } })

    /** What `grant()` answers. */
    const state = new GrantState(unavailable(`taking hold of ${name} in storage`))
    /** The grant while the row is held (also while fenced, so that issuing can resume). */
    let held: WorkerGrant | undefined
    let fencedNow = false
    let generation = 0
    let confirmedAtNs: bigint | undefined

    const monoNs = () => clock.monotonicTimeNanosUnsafe()
    const publish = state.publish
    const report = Lifecycle.reports()
    const storageDown = (error: { readonly message: string }) =>
      unavailable(`${name}: storage unreachable (${error.message}); not issuing snowflake IDs`)

    /** Holds the row, retrying while another node holds it or storage does not answer. */
    const acquire: Effect.Effect<Acquired> = Effect.gen(function*() {
      while (true) {
        const replaceHolder = HolderRecord.goneHolder(config.database.dataDir, slot)
        const result = yield* Effect.exit(repo.acquire({ ...slot, holder, staleAfterMs: timeoutMs, replaceAny, replaceHolder }))
        if (Exit.isSuccess(result)) {
          const answer = result.value
          if (answer._tag === "Acquired") {
            HolderRecord.record(config.database.dataDir, slot, holder)
            return answer
          }
          const message = `${name} is held by ${answer.holder}, whose heartbeat is fresh: another node runs with ` +
            `the same static worker id on this database. This node issues no snowflake IDs (IDGEN-SNOW-2003, ` +
            `not ready) until that one stops and its heartbeat is older than ${timeoutMs} ms`
          publish(unavailable(message, { holder: answer.holder, heartbeat_age_ms: answer.heartbeatAgeMs }))
          yield* report.warn(message)
        } else {
          const reason = storageDown({ message: Cause.pretty(result.cause) })
          publish(reason)
          yield* report.warn(reason.message)
        }
        yield* Effect.sleep(RETRY_MS)
      }
    })

    /** One guarded write: the stored ceiling, or undefined when another node holds the row now. */
    const renew = (ceilingMs: number) => Effect.exit(repo.renew(slot, holder, ceilingMs))

    /** Keeps the row held and the reservation ahead; completes `lost` when taken over. */
    const heartbeat = (lost: Deferred.Deferred<string>) =>
      Effect.gen(function*() {
        let failing = false
        while (true) {
          yield* Effect.sleep(tickMs)
          const current = held
          const now = clock.currentTimeMillisUnsafe()
          // -1: a heartbeat only (the stored ceiling is kept).
          const target = current !== undefined && TimestampCeiling.needsExtension(current.ceilingMs, now, windowMs)
            ? TimestampCeiling.extended(current.ceilingMs, now, windowMs)
            : -1
          const sentNs = monoNs()
          const result = yield* renew(target)
          if (Exit.isFailure(result)) {
            if (!failing) {
              yield* Effect.logWarning(
                `${name}: storage did not confirm the hold (${Cause.pretty(result.cause)}); ` +
                  (current === undefined ? "" : `issuing stops at the reserved ceiling in ${current.ceilingMs - now} ms unless it answers`)
              )
            }
            failing = true
            if (current !== undefined && state.current === current && now >= current.ceilingMs) {
              fencedNow = true
              SnowflakeMetrics.fenced.updateUnsafe(1, context)
              publish(unavailable(`${name}: the reserved timestamp ceiling is used up and storage does not answer to extend it`))
              yield* Effect.logWarning(`${name}: reservation used up with storage unreachable; stopped issuing`)
            }
            continue
          }
          if (result.value === undefined) return yield* Deferred.succeed(lost, "another node took the id over")
          confirmedAtNs = sentNs
          if (failing) {
            failing = false
            yield* Effect.logInfo(`${name}: storage confirms the hold again`)
          }
          if (current !== undefined && held === current && (result.value !== current.ceilingMs || fencedNow)) {
            const next: WorkerGrant = { ...current, ceilingMs: result.value }
            held = next
            if (state.current === current || fencedNow) publish(next)
            fencedNow = false
          }
        }
      })

    /** Waits past the recorded ceiling, reserves a window ahead and publishes the grant. */
    const startIssuing = (acquired: Acquired) =>
      Effect.gen(function*() {
        yield* ceilingWait.waitPast({
          workerId,
          ceilingMs: acquired.ceilingMs,
          maxWaitMs: config.snowflake.staticCeilingWaitMillis,
          publish: (message, details) => publish(unavailable(message, details))
        })
        // A window above the clock, or above the ceiling while the clock is still behind it.
        const target = TimestampCeiling.extended(
          acquired.ceilingMs,
          Math.max(acquired.ceilingMs, clock.currentTimeMillisUnsafe()),
          windowMs
        )
        let reserved = yield* renew(target)
        while (Exit.isFailure(reserved)) {
          const reason = storageDown({ message: Cause.pretty(reserved.cause) })
          publish(reason)
          yield* report.warn(reason.message)
          yield* Effect.sleep(RETRY_MS)
          reserved = yield* renew(target)
        }
        if (reserved.value === undefined) return "another node took the id over"
        generation += 1
        held = { _tag: "WorkerGrant", workerId, generation, afterMs: acquired.ceilingMs, ceilingMs: reserved.value }
        fencedNow = false
        publish(held)
        report.clear()
        const replaced = acquired.replaced === undefined
          ? ""
          : `; took over from ${acquired.replaced.holder}, whose heartbeat was ${acquired.replaced.heartbeatAgeMs} ms old` +
            (replaceAny
              ? " (the data directory's lock proves it gone)"
              : acquired.replaced.heartbeatAgeMs <= timeoutMs
              ? " (this data directory's previous process, gone)"
              : "")
        yield* Effect.logInfo(`${name} acquired (holder ${holder}, ceiling ${acquired.ceilingMs})${replaced}`)
        return yield* Effect.never
      })

    /** One hold, from acquisition to loss (or shutdown, through the scope's finalizer). */
    const session = Effect.gen(function*() {
      const acquired = yield* acquire
      SnowflakeMetrics.acquisitions.updateUnsafe(1, context)
      confirmedAtNs = monoNs()
      yield* Effect.addFinalizer(() => {
        const current = held
        // What was actually issued, instead of the reservation (which the row keeps otherwise).
        const final = current === undefined ? undefined : state.finalCeilingMs(current.afterMs)
        return repo.release(slot, holder, final).pipe(
          Effect.tap((released) => (released && state.retired ? Effect.logInfo(`${name} released`) : Effect.void)),
          Effect.catch((error) => Effect.logWarning(`could not release ${name}: ${error.message}`))
        )
      })
      const lost = yield* Deferred.make<string>()
      yield* Effect.forkScoped(heartbeat(lost).pipe(Effect.withTracerEnabled(false)))
      const reason = yield* Effect.raceFirst(startIssuing(acquired), Deferred.await(lost))
      // Taken over: nothing may be issued with the old grant.
      held = undefined
      fencedNow = false
      SnowflakeMetrics.leasesLost.updateUnsafe(1, context)
      const message = `${name}: ${reason}; stopped issuing snowflake IDs`
      publish(unavailable(message))
      yield* Effect.logWarning(message)
    })

    yield* Lifecycle.supervise("static worker-id", session, RETRY_MS)
    yield* SnowflakeMetrics.holdGauges(clock, { confirmedAtNs: () => confirmedAtNs, ceilingMs: () => held?.ceilingMs })

    return WorkerIdentity.of(state.identity(datacenterId, () => unavailable("the node is shutting down")))
  })
)
