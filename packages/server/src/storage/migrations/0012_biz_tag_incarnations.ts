/**
 * A biz_tag created again after its deletion is a new incarnation with a new row id
 * (`SqlBizTagRepo.create`): nodes key their buffers, actors and Redis pool by that id, so
 * nothing of the old incarnation is served for the new one. Its `segments` and pool fence
 * rows follow the id (ON UPDATE CASCADE): the counter goes on above everything the old
 * incarnation was handed, and an allocation or pool claim naming the old id fails.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

const followId = (table: string) =>
  `ALTER TABLE ${table}
    DROP CONSTRAINT ${table}_biz_tag_id_fkey,
    ADD CONSTRAINT ${table}_biz_tag_id_fkey FOREIGN KEY (biz_tag_id) REFERENCES biz_tags (id)
      ON DELETE CASCADE ON UPDATE CASCADE`

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(followId("segments"))
  yield* sql.unsafe(followId("segment_pool_fences"))
})
