/**
 * The schema migrations, in order. Loaded from this record (no filesystem glob), so they
 * run the same from any working directory and from a bundle.
 */
import { Migrator } from "effect/sql"
import tenancy from "./0001_tenancy.ts"
import segments from "./0002_segments.ts"
import auditLog from "./0003_audit_log.ts"
import snowflakeWorkers from "./0004_snowflake_workers.ts"
import clusterSettings from "./0005_cluster_settings.ts"
import storageFence from "./0006_storage_fence.ts"
import poolFence from "./0007_pool_fence.ts"
import autoBizTagCap from "./0008_auto_biz_tag_cap.ts"
import operatorApi from "./0009_operator_api.ts"
import workspaceIdRate from "./0010_workspace_id_rate.ts"
import changePollIndexes from "./0011_change_poll_indexes.ts"
import bizTagIncarnations from "./0012_biz_tag_incarnations.ts"

export const loader = Migrator.fromRecord({
  "0001_tenancy": tenancy,
  "0002_segments": segments,
  "0003_audit_log": auditLog,
  "0004_snowflake_workers": snowflakeWorkers,
  "0005_cluster_settings": clusterSettings,
  "0006_storage_fence": storageFence,
  "0007_pool_fence": poolFence,
  "0008_auto_biz_tag_cap": autoBizTagCap,
  "0009_operator_api": operatorApi,
  "0010_workspace_id_rate": workspaceIdRate,
  "0011_change_poll_indexes": changePollIndexes,
  "0012_biz_tag_incarnations": bizTagIncarnations
})

/** The table recording applied migrations. */
export const table = "idgen_migrations"
