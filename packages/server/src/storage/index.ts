/**
 * The storage of a node in one layer: the migrated database (external PostgreSQL or the
 * embedded store, per `database.*`) and every repository on top of it.
 *
 *   Layer.provideMerge(Storage.layer)   // needs ServerConfig
 *
 * Provides `SegmentRepo`, `PoolFenceRepo`, `WorkspaceRepo`, `BizTagRepo`, `ApiKeyRepo`, `ReplicationMode`, and the underlying
 * `SqlClient` / `PgClient` (health checks, maintenance such as
 * `Database.ensureAllocationPartitions`).
 */
import { Layer } from "effect"
import * as Database from "./Database.ts"
import * as PgSegmentRepo from "./PgSegmentRepo.ts"
import * as PinnedSettings from "./PinnedSettings.ts"
import { ReplicationMode } from "./ReplicationMode.ts"
import * as SqlApiKeyRepo from "./SqlApiKeyRepo.ts"
import * as SqlBizTagRepo from "./SqlBizTagRepo.ts"
import * as SqlPoolFenceRepo from "./SqlPoolFenceRepo.ts"
import * as SqlWorkspaceRepo from "./SqlWorkspaceRepo.ts"
import * as StorageFence from "./StorageFence.ts"

export { ApiKeyRepo } from "./ApiKeyRepo.ts"
export { BizTagRepo } from "./BizTagRepo.ts"
export { PoolFenceRepo } from "./PoolFenceRepo.ts"
export { ReplicationMode } from "./ReplicationMode.ts"
export { SegmentRepo } from "./SegmentRepo.ts"
export { WorkspaceRepo } from "./WorkspaceRepo.ts"
export { Database }

/** The repositories over an existing `SqlClient` (plus `ServerConfig` for the range size). */
const repositories = Layer.mergeAll(
  PgSegmentRepo.layer,
  SqlPoolFenceRepo.layer,
  SqlWorkspaceRepo.layer,
  SqlBizTagRepo.layer,
  SqlApiKeyRepo.layer
)

/**
 * Database + repositories (+ its replication mode), from `ServerConfig`; refuses to start on
 * settings other than the cluster's pinned ones.
 */
export const layer = Layer.merge(repositories, ReplicationMode.layer).pipe(
  Layer.provideMerge(PinnedSettings.layer),
  Layer.provideMerge(Database.layer)
)

/**
 * Repositories over an explicit database, for tests and tools: no `ServerConfig` needed. An
 * external database is fenced with `failoverSafetyGap` (default `StorageFence.DEFAULT_SAFETY_GAP`).
 */
export const layerWith = (
  options: Database.DatabaseOptions & { readonly rangeSize: number; readonly failoverSafetyGap?: number }
) =>
  Layer.mergeAll(
    PgSegmentRepo.layerWith({
      rangeSize: options.rangeSize,
      failoverSafetyGap: options.url === undefined ? undefined : options.failoverSafetyGap ?? StorageFence.DEFAULT_SAFETY_GAP
    }),
    SqlPoolFenceRepo.layer,
    SqlWorkspaceRepo.layer,
    SqlBizTagRepo.layer,
    SqlApiKeyRepo.layer
  ).pipe(Layer.provideMerge(Database.layerWith(options)))
