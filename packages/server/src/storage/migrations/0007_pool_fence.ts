/**
 * The Redis segment pool's fence (`PoolFenceRepo`): per (biz_tag, datacenter), the end of the
 * last pool segment a node claimed. A popped pool entry is used only after one conditional
 * update moves it forward, so an entry Redis hands out again (a restored dump, a failover)
 * is refused. Separate from `segments` so the pool's one write per segment never waits on
 * an allocation's row lock.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(`CREATE TABLE segment_pool_fences (
    biz_tag_id uuid NOT NULL REFERENCES biz_tags (id) ON DELETE CASCADE,
    datacenter_id smallint NOT NULL CONSTRAINT segment_pool_fences_datacenter_id_check CHECK (datacenter_id BETWEEN 0 AND 7),
    consumed_to bigint NOT NULL,
    CONSTRAINT segment_pool_fences_pkey PRIMARY KEY (biz_tag_id, datacenter_id)
  )`)
})
