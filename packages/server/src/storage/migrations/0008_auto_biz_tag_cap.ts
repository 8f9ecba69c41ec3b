/**
 * The cap on auto-created biz_tags (contract: `max_auto_biz_tags`): each workspace's limit
 * (default 10 000) and, per biz_tag, whether it was created on first use — only those count;
 * biz_tags created before this migration count as the operator's.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(`ALTER TABLE workspaces ADD COLUMN max_auto_biz_tags integer NOT NULL DEFAULT 10000
    CONSTRAINT workspaces_max_auto_biz_tags_check CHECK (max_auto_biz_tags >= 0)`)
  yield* sql.unsafe(`ALTER TABLE biz_tags ADD COLUMN auto_created boolean NOT NULL DEFAULT false`)
  yield* sql.unsafe(`CREATE INDEX idx_biz_tags_auto_created ON biz_tags (group_id) WHERE auto_created`)
})
