/**
 * The node's `WorkerIdentity`: leased from etcd when `etcd.endpoints` is set
 * (`IDGEN_ETCD_ENDPOINTS`), otherwise the static `node.worker_id` (`IDGEN_WORKER_ID`) of
 * single nodes and the embedded default, held in the node's own storage.
 */
import { Effect, Layer } from "effect"
import type { SqlClient } from "effect/sql"
import { ServerConfig } from "../config/ServerConfig.ts"
import * as SqlSnowflakeWorkerRepo from "../storage/SqlSnowflakeWorkerRepo.ts"
import * as EtcdWorkerIdentity from "./EtcdWorkerIdentity.ts"
import { EtcdWorkerRegistry } from "./EtcdWorkerRegistry.ts"
import * as StorageWorkerIdentity from "./StorageWorkerIdentity.ts"
import type { WorkerIdentity } from "./WorkerIdentity.ts"

export const WorkerIdentityLive: Layer.Layer<WorkerIdentity, never, ServerConfig | SqlClient.SqlClient> = Layer.unwrap(
  Effect.gen(function*() {
    const config = yield* ServerConfig
    return config.etcd.endpoints.length === 0
      ? StorageWorkerIdentity.layer.pipe(Layer.provide(SqlSnowflakeWorkerRepo.layer))
      : EtcdWorkerIdentity.layer.pipe(Layer.provide(EtcdWorkerRegistry.layer))
  })
)
