/**
 * The machine-id distributor seam: which (datacenter, worker) this node issues
 * snowflake IDs as. The static implementation reads it from config; an etcd-leased
 * implementation can replace this layer without touching the generator.
 */
import { Context, Effect, Layer } from "effect"
import { ServerConfig } from "../config/ServerConfig.ts"
import { Errors } from "@idgen/core"

export interface WorkerIdentityShape {
  readonly datacenterId: number
  /**
   * The worker id this node may issue with right now, or NoAvailableWorkerId when it
   * holds none (lease lost or not yet acquired). Checked on every issue, so a lost
   * lease stops issuance immediately.
   */
  readonly current: () => number | Errors.NoAvailableWorkerId
}

export class WorkerIdentity extends Context.Service<WorkerIdentity, WorkerIdentityShape>()(
  "@idgen/server/snowflake/WorkerIdentity"
) {
  /** A fixed worker id from config (`IDGEN_WORKER_ID`), for single nodes and the embedded default. */
  static readonly layerStatic = Layer.effect(
    WorkerIdentity,
    Effect.gen(function*() {
      const { node } = yield* ServerConfig
      return WorkerIdentity.of({ datacenterId: node.datacenterId, current: () => node.workerId })
    })
  )
}
