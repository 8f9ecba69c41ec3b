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

/**
 * What an identity's `grant()` answers, changed by its holder (`publish`) until the
 * generator retires it: from then on it answers `shuttingDown` for good, and remembers the
 * highest timestamp issued so that the release records it instead of the reservation.
 */
export class GrantState {
  current: WorkerGrant | Errors.NoAvailableWorkerId
  retired = false
  highestIssuedMs: number | undefined = undefined

  constructor(initial: WorkerGrant | Errors.NoAvailableWorkerId) {
    this.current = initial
  }

  readonly publish = (next: WorkerGrant | Errors.NoAvailableWorkerId): void => {
    if (!this.retired) this.current = next
  }

  /** After retirement, the ceiling to record for a grant issued above `afterMs`: what was actually issued. */
  finalCeilingMs(afterMs: number): number | undefined {
    return this.retired && this.highestIssuedMs !== undefined ? Math.max(afterMs, this.highestIssuedMs, 0) : undefined
  }

  /** The service: `grant` (default: the current answer) and a `retire` that ends issuing. */
  identity(
    datacenterId: number,
    shuttingDown: () => Errors.NoAvailableWorkerId,
    grant: () => WorkerGrant | Errors.NoAvailableWorkerId = () => this.current
  ): WorkerIdentityShape {
    return {
      datacenterId,
      grant,
      current: workerIdOf(grant),
      retire: (highestIssuedMs) => {
        this.retired = true
        this.highestIssuedMs = highestIssuedMs
        this.current = shuttingDown()
      }
    }
  }
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
    Effect.map(ServerConfig, ({ node }) =>
      WorkerIdentity.of(
        new GrantState({
          _tag: "WorkerGrant",
          workerId: node.workerId,
          generation: 0,
          afterMs: -1,
          ceilingMs: Infinity
        }).identity(
          node.datacenterId,
          () => new Errors.NoAvailableWorkerId({ message: "the node is shutting down", details: {} })
        )
      ))
  )
}
