/**
 * What the complete operator API needs: a workspace's default fallback chain for the
 * biz_tags it auto-creates; a tombstone for deleted biz_tags (`deleted_at`: the row — and
 * with it the `segments` rows, which cascade from it — stays, so a deleted biz_tag's numbers
 * are never handed out again, nor its name auto-created); when an API key was last used
 * (written coalesced, `auth/KeyUsage.ts`); and the workspace an audit row concerns, for the
 * audit log's `workspace` filter (rows written before are filled in as `AuditLog.workspaceOf` would).
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

const ALGORITHMS_SQL = `ARRAY['segment','snowflake','uuid_v7','uuid_v4','formatted']::text[]`

const statements = [
  `ALTER TABLE workspaces ADD COLUMN default_fallback text[] NOT NULL DEFAULT '{}'
    CONSTRAINT workspaces_default_fallback_check
    CHECK (default_fallback <@ ${ALGORITHMS_SQL} AND array_position(default_fallback, NULL) IS NULL)`,
  `ALTER TABLE biz_tags ADD COLUMN deleted_at timestamptz`,
  `ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz`,
  `ALTER TABLE audit_log ADD COLUMN workspace text`,
  `UPDATE audit_log SET workspace = CASE
     WHEN starts_with(resource, 'workspace:') THEN substr(resource, 11)
     WHEN starts_with(resource, 'biz_tag:') THEN split_part(substr(resource, 9), '/', 1)
     WHEN metadata->>'workspace' IS NOT NULL THEN metadata->>'workspace'
     WHEN event_type = 'key_use_failure' THEN substring(actor from '^idgen_(.+)_[0-9a-f]{8}$')
     END`,
  `CREATE INDEX audit_log_workspace ON audit_log (workspace, occurred_at)`,
  `CREATE INDEX audit_log_action ON audit_log (action, occurred_at)`
]

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  for (const statement of statements) {
    yield* sql.unsafe(statement)
  }
})
