/**
 * The node's `WorkerIdentity`: leased from etcd when `etcd.endpoints` is set
 * (`IDGEN_ETCD_ENDPOINTS`), otherwise the static `node.worker_id` (`IDGEN_WORKER_ID`) of
 * single nodes and the embedded default.
 */
import { Effect, Layer } from "effect"
import { ServerConfig } from "../config/ServerConfig.ts"
import * as EtcdWorkerIdentity from "./EtcdWorkerIdentity.ts"
import { EtcdWorkerRegistry } from "./EtcdWorkerRegistry.ts"
import { WorkerIdentity } from "./WorkerIdentity.ts"

export const WorkerIdentityLive: Layer.Layer<WorkerIdentity, never, ServerConfig> = Layer.unwrap(
  Effect.gen(function*() {
    const config = yield* ServerConfig
    return config.etcd.endpoints.length === 0
      ? WorkerIdentity.layerStatic
      : EtcdWorkerIdentity.layer.pipe(Layer.provide(EtcdWorkerRegistry.layer))
  })
)
