/**
 * Segments (one row per biz_tag and datacenter) and the audit trail of every allocation,
 * partitioned by month with a DEFAULT partition so an insert never fails for want of one.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

const statements = [
  `CREATE TABLE segments (
    biz_tag_id uuid NOT NULL REFERENCES biz_tags (id) ON DELETE CASCADE,
    datacenter_id smallint NOT NULL CONSTRAINT segments_datacenter_id_check CHECK (datacenter_id BETWEEN 0 AND 7),
    range_start bigint NOT NULL CONSTRAINT segments_range_start_check CHECK (range_start >= 1),
    range_end bigint NOT NULL,
    max_id bigint NOT NULL,
    step bigint NOT NULL CONSTRAINT segments_step_check CHECK (step > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT segments_pkey PRIMARY KEY (biz_tag_id, datacenter_id),
    CONSTRAINT segments_range_check CHECK (range_end >= range_start),
    CONSTRAINT segments_max_id_check CHECK (max_id >= range_start - 1 AND max_id <= range_end)
  )`,
  `CREATE TABLE segment_allocations (
    biz_tag_id uuid NOT NULL,
    datacenter_id smallint NOT NULL CONSTRAINT segment_allocations_datacenter_id_check CHECK (datacenter_id BETWEEN 0 AND 7),
    start_id bigint NOT NULL,
    end_id bigint NOT NULL,
    step bigint NOT NULL,
    node text NOT NULL,
    allocated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT segment_allocations_range_check CHECK (start_id >= 1 AND end_id >= start_id),
    CONSTRAINT segment_allocations_pkey PRIMARY KEY (biz_tag_id, datacenter_id, start_id, allocated_at)
  ) PARTITION BY RANGE (allocated_at)`,
  `CREATE TABLE segment_allocations_default PARTITION OF segment_allocations DEFAULT`,
  // Creates the partitions of the current month (UTC) and the next `months_ahead` months, if missing.
  // Rows that already landed in the DEFAULT partition for such a month are moved into it.
  // Serialised by an advisory lock, so concurrent callers (several nodes starting) are safe.
  // Returns the number of partitions created.
  `CREATE OR REPLACE FUNCTION idgen_ensure_allocation_partitions(months_ahead integer DEFAULT 1)
  RETURNS integer
  LANGUAGE plpgsql
  AS $fn$
  DECLARE
    first_month timestamp := date_trunc('month', now() AT TIME ZONE 'UTC');
    lo timestamptz;
    hi timestamptz;
    part text;
    created integer := 0;
  BEGIN
    IF months_ahead IS NULL OR months_ahead < 0 OR months_ahead > 120 THEN
      RAISE EXCEPTION 'months_ahead must be between 0 and 120, got %', months_ahead;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('idgen_ensure_allocation_partitions'));
    FOR i IN 0..months_ahead LOOP
      lo := (first_month + make_interval(months => i)) AT TIME ZONE 'UTC';
      hi := (first_month + make_interval(months => i + 1)) AT TIME ZONE 'UTC';
      part := 'segment_allocations_' || to_char(first_month + make_interval(months => i), '"y"YYYY"m"MM');
      CONTINUE WHEN to_regclass(quote_ident(part)) IS NOT NULL;
      EXECUTE format('CREATE TABLE %I (LIKE segment_allocations INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
      EXECUTE format(
        'WITH moved AS (DELETE FROM segment_allocations_default WHERE allocated_at >= %L AND allocated_at < %L RETURNING *) '
        'INSERT INTO %I SELECT * FROM moved', lo, hi, part);
      EXECUTE format('ALTER TABLE segment_allocations ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
      created := created + 1;
    END LOOP;
    RETURN created;
  END
  $fn$`,
  `SELECT idgen_ensure_allocation_partitions(1)`
]

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  for (const statement of statements) {
    yield* sql.unsafe(statement)
  }
})
