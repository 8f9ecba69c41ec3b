/**
 * The audit log: operator actions, key-use failures, degradation events.
 * Append-only; rows older than `audit.retention_days` are deleted by `AuditLog`'s sweeper.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(`CREATE TABLE audit_log (
    id bigserial PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    event_type text NOT NULL,
    actor text,
    action text NOT NULL,
    resource text NOT NULL,
    result text NOT NULL,
    node text NOT NULL,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb
  )`)
  yield* sql.unsafe(`CREATE INDEX audit_log_occurred_at ON audit_log (occurred_at)`)
  yield* sql.unsafe(`CREATE INDEX audit_log_event_type ON audit_log (event_type, occurred_at)`)
})
