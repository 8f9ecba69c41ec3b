/**
 * A workspace's limit on IDs per second (`rate_limit.ids_per_second`, `ids_burst`), beside
 * its limit on requests: a batch of 1000 takes 1000 tokens. Null: no such limit.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(`ALTER TABLE workspaces
    ADD COLUMN rate_limit_ids_per_second integer CONSTRAINT workspaces_rate_limit_ids_per_second_check CHECK (rate_limit_ids_per_second > 0),
    ADD COLUMN rate_limit_ids_burst integer CONSTRAINT workspaces_rate_limit_ids_burst_check CHECK (rate_limit_ids_burst > 0)`)
})
