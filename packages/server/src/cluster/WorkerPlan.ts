/**
 * How many worker processes serve an instance's ports (`node.workers`, `IDGEN_WORKERS`) and
 * what each one is told. Every worker is a full node for the algorithms (own segment
 * buffers, own snowflake worker id):
 *
 * - with etcd each worker leases its own worker id;
 * - with a static worker id, worker i takes `node.worker_id + i` and holds it in storage like
 *   a single node (`StorageWorkerIdentity`): ids past 255 are refused here, before anything
 *   starts; an id another node holds leaves that worker not ready (IDGEN-SNOW-2003);
 * - the embedded store has one owner (PGlite in one process behind a lock file, one session
 *   on its socket): sharing it would route every worker's queries through that one owner,
 *   which costs more than a second core gains, so the embedded default runs one worker and
 *   says so at start.
 */
import { Snowflake } from "@idgen/core"
import { Effect } from "effect"
import { availableParallelism } from "node:os"
import { ConfigInvalid } from "../config/ConfigInvalid.ts"
import type { ServerConfigShape } from "../config/ServerConfig.ts"

/** Set by the primary in each worker's environment: the worker's index, 0…workers-1. */
export const INDEX_VARIABLE = "IDGEN_WORKER_INDEX"

export interface WorkerPlan {
  readonly workers: number
  /** Why the instance runs fewer workers than configured (logged at start). */
  readonly note: string | undefined
}

export const plan = (config: ServerConfigShape): Effect.Effect<WorkerPlan, ConfigInvalid> => {
  const asked = config.node.workers ?? availableParallelism()
  if (config.database.url === undefined) {
    const setting = config.node.workers === undefined
      ? `the default of node.workers (IDGEN_WORKERS), the available parallelism, ${asked}, is reduced to 1`
      : `node.workers (IDGEN_WORKERS: ${asked}) is reduced to 1`
    return Effect.succeed({
      workers: 1,
      note: asked === 1 ? undefined : `one worker process: ${setting} on the embedded store, which has a single owner; ` +
        `run on PostgreSQL (IDGEN_DATABASE_URL) to serve from every core`
    })
  }
  const last = config.node.workerId + asked - 1
  if (config.etcd.endpoints.length === 0 && last > Snowflake.MAX_WORKER_ID) {
    return Effect.fail(
      new ConfigInvalid({
        message: `node.workers (IDGEN_WORKERS): ${asked} worker processes with the static worker id ` +
          `${config.node.workerId} (node.worker_id, IDGEN_WORKER_ID) need worker ids ${config.node.workerId}…${last}, ` +
          `past the largest, ${Snowflake.MAX_WORKER_ID}; lower one of the two, or lease worker ids from etcd (IDGEN_ETCD_ENDPOINTS)`
      })
    )
  }
  return Effect.succeed({ workers: asked, note: undefined })
}

/**
 * What worker `index` gets on top of the primary's environment: its index, the instance's
 * name (one name per instance: alerts and audit rows name the instance, metric series and
 * log lines carry the worker), its static worker id, and ports the primary fixed.
 */
export const workerEnv = (
  config: ServerConfigShape,
  index: number,
  ports: { readonly http: number; readonly grpc: number; readonly metrics: number | undefined }
): Record<string, string> => ({
  [INDEX_VARIABLE]: String(index),
  IDGEN_NODE_NAME: config.node.name,
  IDGEN_HTTP_PORT: String(ports.http),
  IDGEN_GRPC_PORT: String(ports.grpc),
  ...(ports.metrics === undefined ? {} : { IDGEN_METRICS_PORT: String(ports.metrics) }),
  ...(config.etcd.endpoints.length === 0 ? { IDGEN_WORKER_ID: String(config.node.workerId + index) } : {})
})
