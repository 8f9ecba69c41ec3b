/**
 * The machine-id distributor seam: which (datacenter, worker) this node issues
 * snowflake IDs as, and within which timestamps. `StorageWorkerIdentity` holds the
 * configured static worker id in the node's own storage; `EtcdWorkerIdentity` leases one
 * from etcd. Both fence it with a persisted timestamp ceiling. The generator asks on every
 * issue, so a lost or unconfirmed hold stops issuance immediately.
 */
import { Errors } from "@idgen/core"
import { Context, Effect, Layer } from "effect"
import { ServerConfig } from "../config/ServerConfig.ts"

/**
 * Permission to issue as `workerId`, for timestamps in `(afterMs, ceilingMs]`.
 * A new object whenever something changes; `generation` changes only when the id is
 * (re)acquired, which is when the generator must start over above `afterMs`.
 */
export interface WorkerGrant {
  readonly _tag: "WorkerGrant"
  readonly workerId: number
  readonly generation: number
  /** The highest timestamp the id's previous holders may have issued with (-1: none). */
  readonly afterMs: number
  /** The highest timestamp reserved for this holder (persisted before it is granted). */
  readonly ceilingMs: number
}

export interface WorkerIdentityShape {
  readonly datacenterId: number
  /** The current grant, or NoAvailableWorkerId when this node may not issue right now. */
  readonly grant: () => WorkerGrant | Errors.NoAvailableWorkerId
  /** The worker id of the current grant (what health and formatted IDs need). */
  readonly current: () => number | Errors.NoAvailableWorkerId
  /**
   * The generator stops for good (shutdown) and reports the highest timestamp it issued
   * with, so that the release records it as the id's ceiling instead of the reservation.
   */
  readonly retire: (highestIssuedMs: number) => void
}

/** `current` derived from `grant`. */
export const workerIdOf = (grant: () => WorkerGrant | Errors.NoAvailableWorkerId) => () => {
  const held = grant()
  return held._tag === "WorkerGrant" ? held.workerId : held
}

export class WorkerIdentity extends Context.Service<WorkerIdentity, WorkerIdentityShape>()(
  "@idgen/server/snowflake/WorkerIdentity"
) {
  /**
   * The configured worker id with no persisted ceiling and no hold, for in-process tests
   * and benchmarks only: it survives neither a restart nor a second node (a server uses
   * the etcd or storage one chosen in `App.ts`).
   */
  static readonly layerUnpersisted = Layer.effect(
    WorkerIdentity,
    Effect.gen(function*() {
      const { node } = yield* ServerConfig
      const held: WorkerGrant = {
        _tag: "WorkerGrant",
        workerId: node.workerId,
        generation: 0,
        afterMs: -1,
        ceilingMs: Infinity
      }
      let retired: Errors.NoAvailableWorkerId | undefined
      const grant = () => retired ?? held
      return WorkerIdentity.of({
        datacenterId: node.datacenterId,
        grant,
        current: workerIdOf(grant),
        retire: () => {
          retired = new Errors.NoAvailableWorkerId({ message: "the node is shutting down", details: {} })
        }
      })
    })
  )
}
