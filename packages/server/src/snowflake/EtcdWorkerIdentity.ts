/**
 * Worker ids leased from etcd, behind the `WorkerIdentity` seam. One supervised fiber runs
 * the lifecycle, over and over:
 *
 * 1. grant a lease (TTL `etcd.lease_ttl_seconds`) and keep it alive every third of the
 *    TTL in its own fiber;
 * 2. claim the lowest free id of the datacenter (create-if-absent transaction), reading
 *    the timestamp ceiling its previous holders recorded; all 256 held → IDGEN-SNOW-2003
 *    and not ready, retried until one frees up;
 * 3. wait until the clock is past that ceiling (saying so loudly when the gap exceeds the
 *    tolerated drift), reserve a new ceiling a window ahead, and only then issue;
 * 4. keep the reservation ahead of the clock while holding the id;
 * 5. on a lost lease (expired, revoked, claim taken over): stop, and start again at 1 —
 *    possibly with another id. On shutdown: record the highest timestamp issued as the
 *    id's ceiling, delete the claim and revoke the lease.
 *
 * Fencing: etcd restarts the lease's TTL when it processes a keep-alive, which is no
 * earlier than the keep-alive was sent. So the lease cannot expire on the etcd side
 * before `sent + TTL`. The node stops issuing at `sent + TTL - fencing margin` of the last
 * successful keep-alive (monotonic clock, so wall-clock steps do not move it), checked on
 * every issue; it resumes when a keep-alive succeeds again (the lease never expired, so
 * nobody else could have taken the id). The reserved ceiling is a second, independent
 * fence: whoever takes the id over starts above everything this holder could issue.
 */
import { Errors } from "@idgen/core"
import { Cause, Clock, Deferred, Effect, Exit, Layer, Schedule } from "effect"
import { ServerConfig } from "../config/ServerConfig.ts"
import * as CeilingWait from "./CeilingWait.ts"
import { type Claim, EtcdWorkerRegistry, type WorkerLease } from "./EtcdWorkerRegistry.ts"
import * as Lifecycle from "./Lifecycle.ts"
import * as SnowflakeMetrics from "./SnowflakeMetrics.ts"
import * as TimestampCeiling from "./TimestampCeiling.ts"
import { GrantState, type WorkerGrant, WorkerIdentity } from "./WorkerIdentity.ts"

/** Pause between attempts while etcd is unreachable or every id is held. */
const RETRY_MS = 500

const nanos = (ms: number) => BigInt(Math.round(ms)) * 1_000_000n
const millisBetween = (fromNs: bigint, toNs: bigint) => Number((toNs - fromNs) / 1_000_000n)

export const layer: Layer.Layer<WorkerIdentity, never, ServerConfig | EtcdWorkerRegistry> = Layer.effect(
  WorkerIdentity,
  Effect.gen(function*() {
    const config = yield* ServerConfig
    const registry = yield* EtcdWorkerRegistry
    const clock = yield* Clock.Clock
    const context = yield* Effect.context<never>()
    const runFork = Effect.runForkWith(context)
    const ttlMs = config.etcd.leaseTtlSeconds * 1000
    const marginMs = config.etcd.fencingMarginMillis
    const windowMs = config.snowflake.ceilingWindowMillis
    const ceilingWait = yield* CeilingWait.make(config.snowflake.clockLogicalThresholdMillis)
    const datacenterId = registry.datacenterId

    const unavailable = (message: string, details: Record<string, unknown> = {}) =>
      new Errors.NoAvailableWorkerId({ message, details: { datacenter_id: datacenterId, ...details } })

    /** What `grant()` answers. */
    const state = new GrantState(unavailable("acquiring a worker id from etcd"))
    /** The grant while a claim is held (also while fenced, so that issuing can resume). */
    let held: WorkerGrant | undefined
    let fencedNow = false
    /** Monotonic deadline of issuing: last confirmed keep-alive send time + TTL - margin. */
    let validUntilNs = 0n
    let confirmedAtNs: bigint | undefined
    let generation = 0
    /**
     * Revision of this process's last ceiling write per worker id. Finding it unchanged
     * when claiming the id again (after a lost lease) proves nobody else reserved — so
     * nobody else issued — since: the generator's own state suffices, no wait needed.
     */
    const ownCeilings = new Map<number, string>()

    const monoNs = () => clock.monotonicTimeNanosUnsafe()
    const publish = state.publish
    const report = Lifecycle.reports()

    const grant = () => {
      if (held !== undefined && state.current === held && monoNs() >= validUntilNs) {
        const silentMs = confirmedAtNs === undefined ? 0 : millisBetween(confirmedAtNs, monoNs())
        fencedNow = true
        state.current = unavailable(
          `worker ${held.workerId}: etcd has not confirmed the lease for ${silentMs} ms; ` +
            `stopped issuing ${marginMs} ms before it could expire`,
          { worker_id: held.workerId }
        )
        SnowflakeMetrics.fenced.updateUnsafe(1, context)
        runFork(Effect.logWarning(state.current.message))
      }
      return state.current
    }

    /** Retries `effect` every RETRY_MS, publishing why this node cannot issue meanwhile. */
    const retrying = <A, E extends { readonly message: string }>(
      effect: Effect.Effect<A, E>,
      why: (error: E) => Errors.NoAvailableWorkerId
    ) =>
      effect.pipe(
        Effect.tapError((error) =>
          Effect.suspend(() => {
            const reason = why(error)
            publish(reason)
            return report.warn(reason.message)
          })
        ),
        Effect.retry(Schedule.spaced(RETRY_MS))
      )

    const etcdDown = (error: { readonly message: string }) =>
      unavailable(`no worker id: etcd unreachable (${error.message})`)

    /** Keeps the lease alive; completes `lost` when etcd says it is gone. */
    const keepAlive = (lease: WorkerLease, lost: Deferred.Deferred<string>) =>
      Effect.gen(function*() {
        const intervalMs = Math.floor(ttlMs / 3)
        let failing = false
        while (true) {
          yield* Effect.sleep(failing ? Math.min(RETRY_MS, intervalMs) : intervalMs)
          const sentNs = monoNs()
          const result = yield* Effect.exit(registry.keepAlive(lease))
          if (Exit.isSuccess(result)) {
            validUntilNs = sentNs + nanos(result.value * 1000 - marginMs)
            confirmedAtNs = sentNs
            failing = false
            report.clear()
            if (fencedNow && held !== undefined) {
              fencedNow = false
              publish(held)
              yield* Effect.logInfo(`worker ${held.workerId}: etcd confirmed the lease again; issuing resumes`)
            }
            continue
          }
          const error = Cause.findErrorOption(result.cause)
          if (error._tag === "Some" && error.value._tag === "LeaseExpired") {
            yield* Deferred.succeed(lost, error.value.message)
            return
          }
          if (!failing) {
            const leftMs = millisBetween(monoNs(), validUntilNs)
            yield* Effect.logWarning(
              `keep-alive of lease ${lease.id} failed (${Cause.pretty(result.cause)}); ` +
                (leftMs > 0 ? `issuing stops in ${leftMs} ms unless etcd answers` : "issuing is stopped")
            )
          }
          failing = true
        }
      })

    /** Keeps the reservation a window ahead of the clock; fails with ClaimLost. */
    const extendCeiling = (lease: WorkerLease) =>
      Effect.gen(function*() {
        const tickMs = Math.min(1000, Math.floor(windowMs / 4))
        while (true) {
          yield* Effect.sleep(tickMs)
          const current = held
          if (current === undefined) continue
          const now = clock.currentTimeMillisUnsafe()
          if (!TimestampCeiling.needsExtension(current.ceilingMs, now, windowMs)) continue
          const target = TimestampCeiling.extended(current.ceilingMs, now, windowMs)
          const result = yield* Effect.exit(registry.reserve(lease, current.workerId, target))
          if (Exit.isSuccess(result)) {
            ownCeilings.set(current.workerId, result.value)
            const next: WorkerGrant = { ...current, ceilingMs: target }
            if (state.current === current) publish(next)
            held = next
            continue
          }
          const error = Cause.findErrorOption(result.cause)
          if (error._tag === "Some" && error.value._tag === "ClaimLost") return yield* error.value
          yield* report.warn(`worker ${current.workerId}: could not extend the timestamp ceiling (${Cause.pretty(result.cause)})`)
        }
      })

    /** Claims an id, waits past its ceiling, reserves, publishes the grant and holds it. */
    const acquireAndHold = (lease: WorkerLease, onClaim: (claim: Claim) => void) =>
      Effect.gen(function*() {
        const claim = yield* retrying(
          registry.claimFirstFree(lease, config.node.name),
          (error) => (error._tag === "NoAvailableWorkerId" ? error : etcdDown(error))
        )
        onClaim(claim)
        SnowflakeMetrics.acquisitions.updateUnsafe(1, context)
        const own = claim.ceilingRevision !== undefined && ownCeilings.get(claim.workerId) === claim.ceilingRevision
        // The id's own earlier holder was this process: its generator is already above it.
        const afterMs = own ? -1 : claim.afterMs
        if (!own) {
          yield* ceilingWait.waitPast({
            workerId: claim.workerId,
            ceilingMs: claim.afterMs,
            maxWaitMs: Infinity,
            publish: (message, details) => publish(unavailable(message, details))
          })
        }
        const ceilingMs = TimestampCeiling.extended(claim.afterMs, clock.currentTimeMillisUnsafe(), windowMs)
        // Retried while etcd is unreachable, but a lost claim ends the session.
        const reserved = yield* retrying(
          registry.reserve(lease, claim.workerId, ceilingMs).pipe(Effect.catchTag("ClaimLost", Effect.succeed)),
          etcdDown
        )
        if (typeof reserved !== "string") return yield* reserved
        ownCeilings.set(claim.workerId, reserved)
        generation += 1
        held = { _tag: "WorkerGrant", workerId: claim.workerId, generation, afterMs, ceilingMs }
        fencedNow = false
        publish(held)
        report.clear()
        yield* Effect.logInfo(
          `worker ${claim.workerId} of datacenter ${datacenterId} acquired (lease ${lease.id}, holder ${config.node.name})`
        )
        return yield* extendCeiling(lease)
      })

    /** One lease, from grant to loss (or shutdown, through the scope's finalizer). */
    const session = Effect.gen(function*() {
      const sentNs = monoNs()
      const lease = yield* retrying(registry.grantLease(config.etcd.leaseTtlSeconds), etcdDown)
      validUntilNs = sentNs + nanos(ttlMs - marginMs)
      confirmedAtNs = sentNs
      let claimed: Claim | undefined
      yield* Effect.addFinalizer(() => {
        const final = held !== undefined && claimed !== undefined && held.workerId === claimed.workerId
          ? (state.finalCeilingMs(held.afterMs) ?? held.ceilingMs)
          : undefined
        const release = claimed === undefined
          ? registry.release(lease)
          : registry.release(lease, { workerId: claimed.workerId, finalCeilingMs: final })
        return release.pipe(
          Effect.tap(() => claimed && state.retired ? Effect.logInfo(`worker ${claimed.workerId} released`) : Effect.void),
          Effect.catch((error) => Effect.logWarning(`could not release the worker lease: ${error.message}`))
        )
      })
      const lost = yield* Deferred.make<string>()
      // Should the keep-alive loop ever die of a bug, the session ends rather than running
      // on unconfirmed (the fence would stop issuing anyway, but nothing would re-acquire).
      yield* Effect.forkScoped(
        keepAlive(lease, lost).pipe(
          Effect.catchDefect((defect) => Deferred.succeed(lost, `keep-alive loop failed: ${String(defect)}`))
        )
      )
      const reason = yield* Effect.raceFirst(
        acquireAndHold(lease, (claim) => (claimed = claim)).pipe(
          Effect.catchTag("ClaimLost", (error) => Effect.succeed(error.message))
        ),
        Deferred.await(lost)
      )
      // Lost: nothing may be issued with the old grant, and there is no ceiling to record.
      const was = held
      held = undefined
      fencedNow = false
      SnowflakeMetrics.leasesLost.updateUnsafe(1, context)
      publish(unavailable(`lease lost (${reason}); acquiring a worker id again`))
      yield* Effect.logWarning(`worker ${was?.workerId ?? "-"}: lease lost (${reason}); acquiring a worker id again`)
    })

    yield* Lifecycle.supervise("worker-id", session, RETRY_MS)
    yield* SnowflakeMetrics.holdGauges(clock, { confirmedAtNs: () => confirmedAtNs, ceilingMs: () => held?.ceilingMs })

    return WorkerIdentity.of(state.identity(datacenterId, () => unavailable("the node is shutting down"), grant))
  })
)
