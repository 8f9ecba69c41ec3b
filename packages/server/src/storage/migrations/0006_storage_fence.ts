/**
 * The timeline fence of segment allocations (`StorageFence.ts`): which database incarnation —
 * (system identifier, timeline) — the segment pointers were last made safe for. A promoted
 * standby has a new timeline; the first allocation that sees it moves every pointer past
 * what the old primary may have handed out before it records the new one.
 *
 * `idgen_incarnation()` reads the incarnation: the timeline is the first 8 hex digits of the
 * current WAL file name, which changes the moment a standby is promoted (the control file's
 * checkpoint timeline only after the next checkpoint). The row is created with the
 * incarnation the schema was created on, so a fresh database never fences.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

const statements = [
  `CREATE FUNCTION idgen_incarnation(OUT system_identifier bigint, OUT timeline bigint)
  LANGUAGE sql VOLATILE
  AS $fn$
    SELECT c.system_identifier, ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::bigint
    FROM pg_control_system() AS c
  $fn$`,
  `CREATE TABLE storage_fence (
    id boolean PRIMARY KEY DEFAULT true CONSTRAINT storage_fence_single_row CHECK (id),
    system_identifier bigint NOT NULL,
    timeline bigint NOT NULL,
    new_row_offset bigint NOT NULL DEFAULT 0 CONSTRAINT storage_fence_new_row_offset_check CHECK (new_row_offset >= 0),
    fences bigint NOT NULL DEFAULT 0,
    fenced_at timestamptz,
    fenced_by text
  )`,
  `INSERT INTO storage_fence (system_identifier, timeline) SELECT system_identifier, timeline FROM idgen_incarnation()`
]

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  for (const statement of statements) {
    yield* sql.unsafe(statement)
  }
})
