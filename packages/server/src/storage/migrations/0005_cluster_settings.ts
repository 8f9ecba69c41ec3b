/**
 * The settings every node of a cluster must share, pinned in one row at first start
 * (`PinnedSettings.ts`; changed only with `idgen cluster pin`), and a guard on new
 * `segments` rows so that the database itself refuses a row that a node with another range
 * size would create: one that does not match the pinned R, or that overlaps the range of
 * another datacenter of the same biz_tag (which would issue the same numbers twice).
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

const statements = [
  `CREATE TABLE cluster_settings (
    id boolean PRIMARY KEY DEFAULT true CONSTRAINT cluster_settings_single_row CHECK (id),
    epoch_ms bigint NOT NULL CONSTRAINT cluster_settings_epoch_check CHECK (epoch_ms >= 0),
    range_size bigint NOT NULL CONSTRAINT cluster_settings_range_size_check CHECK (range_size BETWEEN 1 AND 1125899906842623),
    layout_version integer NOT NULL CONSTRAINT cluster_settings_layout_version_check CHECK (layout_version >= 1),
    pinned_at timestamptz NOT NULL DEFAULT now(),
    pinned_by text NOT NULL
  )`,
  // BEFORE INSERT fires for every allocation's INSERT … ON CONFLICT DO NOTHING: a row that
  // exists already is left to the conflict at once. A new one is checked under a per-biz_tag
  // lock, so two datacenters' first allocations cannot both pass the overlap check (a row of
  // the same datacenter committed meanwhile is, again, left to the conflict).
  `CREATE FUNCTION idgen_segments_guard() RETURNS trigger
  LANGUAGE plpgsql
  AS $fn$
  DECLARE
    pinned bigint;
    other record;
  BEGIN
    IF EXISTS (SELECT 1 FROM segments WHERE biz_tag_id = NEW.biz_tag_id AND datacenter_id = NEW.datacenter_id) THEN
      RETURN NEW;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('idgen_segments:' || NEW.biz_tag_id::text, 0));
    SELECT range_size INTO pinned FROM cluster_settings;
    IF FOUND AND (NEW.range_start <> NEW.datacenter_id * pinned + 1 OR NEW.range_end <> (NEW.datacenter_id + 1) * pinned) THEN
      RAISE EXCEPTION 'segment range [%, %] of datacenter % does not match the range size pinned for the cluster (R = %, datacenter % owns [%, %]): this node runs with another segment.range_size; restart it with the pinned one',
        NEW.range_start, NEW.range_end, NEW.datacenter_id, pinned, NEW.datacenter_id,
        NEW.datacenter_id * pinned + 1, (NEW.datacenter_id + 1) * pinned
        USING ERRCODE = 'check_violation';
    END IF;
    SELECT datacenter_id, range_start, range_end INTO other FROM segments
    WHERE biz_tag_id = NEW.biz_tag_id AND datacenter_id <> NEW.datacenter_id
      AND range_start <= NEW.range_end AND range_end >= NEW.range_start
    LIMIT 1;
    IF FOUND THEN
      RAISE EXCEPTION 'segment range [%, %] of datacenter % overlaps the range [%, %] of datacenter % of the same biz_tag',
        NEW.range_start, NEW.range_end, NEW.datacenter_id, other.range_start, other.range_end, other.datacenter_id
        USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
  END
  $fn$`,
  `CREATE TRIGGER segments_guard BEFORE INSERT ON segments FOR EACH ROW EXECUTE FUNCTION idgen_segments_guard()`
]

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  for (const statement of statements) {
    yield* sql.unsafe(statement)
  }
})
