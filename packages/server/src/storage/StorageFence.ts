/**
 * The timeline fence of segment allocations: no range is answered from a database that may
 * have lost ranges already handed out.
 *
 * Each allocation is one commit. With asynchronous replication the last commits before a
 * failover can be missing on the promoted standby, whose pointers then lag behind ranges the
 * old primary handed out. A promotion (or a point-in-time restore) starts a new timeline, so
 * every allocation on an external PostgreSQL first compares the database's incarnation —
 * (system identifier, timeline), `idgen_incarnation()` of migration 0006 — with the one
 * recorded in `storage_fence`, inside the allocation's own transaction:
 *
 * - the same: nothing else to do (one extra statement; allocations are rare).
 * - different: under the fence row's lock (fencers are serialised; whoever comes second finds
 *   the new incarnation recorded) and before the allocation itself:
 *   1. this node's known ends are pushed — every (biz_tag, datacenter) pointer it was handed
 *      a range of moves up to the highest end it got, the row re-created if it was lost;
 *   2. every pointer moves `gap` further, capped at its range end (audited as `fence:<node>`);
 *   3. the Redis pool's claim fences move up to the new pointers, so pool entries allocated
 *      before the failover are refused (gaps), whatever Redis and the lost claims say;
 *   4. the new incarnation is recorded, with `new_row_offset = gap`: rows created from now on
 *      start `gap` into their range, in case a row (or its biz_tag) of the lost commits is
 *      missing altogether.
 *   All of it commits with the allocation, or nothing does.
 * - recorded already by another node, but this node last allocated before that fence (on
 *   another incarnation, or on this one before the record changed): its known ends are
 *   pushed (step 1), raising what the gap may not have covered.
 *
 * The bound: a number handed out before the failover is never handed out again when the gap
 * is at least what all nodes could allocate from one pointer within the replication lag at
 * the moment of failover — or with synchronous replication, which loses no commit. Beyond
 * that, the pointers of the fencing node's rows are still exact, other nodes' from their next
 * allocation on. The embedded store has no replication: it runs `unfenced`.
 */
import { Effect, Metric } from "effect"
import type { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import * as SegmentSettings from "../config/sections/Segment.ts"
import * as StorageMetrics from "./StorageMetrics.ts"

/** The default safety gap (`segment.failover_safety_gap`). */
export const DEFAULT_SAFETY_GAP = SegmentSettings.DEFAULT_FAILOVER_SAFETY_GAP

/** What the check found, for the allocation that runs in the same transaction. */
export interface Checked {
  /** `system_identifier/timeline` of the database the transaction runs on. */
  readonly incarnation: string
  /** The incarnation and the fence count recorded after this transaction: what this node has seen. */
  readonly generation: string
  /** How far into its range a row created by this transaction starts. */
  readonly newRowOffset: number
  /** This transaction fenced: the incarnation it fenced from and how many pointers moved. */
  readonly fenced: { readonly from: string; readonly moved: number } | undefined
  /** Rows this node's known ends were pushed to (0: none pushed). */
  readonly pushed: number
}

/** A range this node was handed, with what re-creating its row needs. */
export interface Handed {
  readonly bizTagId: string
  readonly datacenterId: number
  readonly rangeStart: number
  readonly rangeEnd: number
  readonly step: number
  readonly end: number
}

export interface StorageFence {
  /** Inside the allocation's transaction, before it touches its row. */
  readonly check: (node: string) => Effect.Effect<Checked, SqlError>
  /** After the allocation committed: remembers the incarnation and the range's end. */
  readonly committed: (checked: Checked, handed: Handed) => Effect.Effect<void>
}

/** The embedded store: no replication, nothing to fence. */
export const unfenced: StorageFence = {
  check: () => Effect.succeed({ incarnation: "", generation: "", newRowOffset: 0, fenced: undefined, pushed: 0 }),
  committed: () => Effect.void
}

interface KnownEnd {
  readonly biz_tag_id: string
  readonly datacenter_id: number
  readonly range_start: number
  readonly range_end: number
  readonly step: number
  readonly end_id: number
}

/** A fence over `sql` moving every pointer `gap` numbers on a new incarnation. */
export const make = (sql: SqlClient.SqlClient, gap: number): StorageFence => {
  // Bounded by the rows this node allocated from (biz_tags × its datacenter).
  const known = new Map<string, KnownEnd>()
  // The generation (incarnation and fence count) of this node's last committed allocation.
  let seen: string | undefined

  /** Raises each known row to the end this node was handed; rows of deleted biz_tags are skipped. */
  const pushKnown = Effect.suspend(() => {
    if (known.size === 0) return Effect.succeed(0)
    return sql<{ readonly biz_tag_id: string }>`
      INSERT INTO segments (biz_tag_id, datacenter_id, range_start, range_end, max_id, step)
      SELECT k.biz_tag_id, k.datacenter_id, k.range_start, k.range_end, LEAST(k.end_id, k.range_end), k.step
      FROM jsonb_to_recordset(${JSON.stringify([...known.values()])}::jsonb)
        AS k(biz_tag_id uuid, datacenter_id smallint, range_start bigint, range_end bigint, step bigint, end_id bigint)
      WHERE EXISTS (SELECT 1 FROM biz_tags AS b WHERE b.id = k.biz_tag_id)
      ON CONFLICT (biz_tag_id, datacenter_id) DO UPDATE
      SET max_id = GREATEST(segments.max_id, LEAST(EXCLUDED.max_id, segments.range_end)), updated_at = now()
      RETURNING biz_tag_id`.pipe(Effect.map((rows) => rows.length))
  })

  const moveAll = (node: string) =>
    gap === 0
      ? Effect.succeed(0)
      : Effect.map(
        sql<{ readonly moved: number }>`
          WITH old AS (
            SELECT biz_tag_id, datacenter_id, max_id FROM segments FOR UPDATE
          ), moved AS (
            UPDATE segments AS s SET max_id = LEAST(s.max_id + ${BigInt(gap)}, s.range_end), updated_at = now()
            FROM old
            WHERE s.biz_tag_id = old.biz_tag_id AND s.datacenter_id = old.datacenter_id AND s.max_id < s.range_end
            RETURNING s.biz_tag_id, s.datacenter_id, old.max_id + 1 AS start_id, s.max_id AS end_id
          ), audit AS (
            INSERT INTO segment_allocations (biz_tag_id, datacenter_id, start_id, end_id, step, node)
            SELECT biz_tag_id, datacenter_id, start_id, end_id, ${BigInt(gap)}, ${`fence:${node}`} FROM moved
          )
          SELECT count(*)::integer AS moved FROM moved`,
        (rows) => rows[0]?.moved ?? 0
      )

  const fence = (current: string, node: string) =>
    Effect.gen(function*() {
      // The row is there unless it was lost with the migration's commit: then fence from "none".
      yield* sql`INSERT INTO storage_fence (system_identifier, timeline) VALUES (0, 0) ON CONFLICT (id) DO NOTHING`
      const [locked] = yield* sql<{ readonly stored: string; readonly new_row_offset: bigint; readonly fences: bigint }>`
        SELECT system_identifier || '/' || timeline AS stored, new_row_offset, fences FROM storage_fence FOR UPDATE`
      if (locked!.stored === current) {
        // Another transaction fenced while this one waited for the lock.
        const generation = `${current}#${locked!.fences}`
        const pushed = seen !== undefined && seen !== generation ? yield* pushKnown : 0
        return { incarnation: current, generation, newRowOffset: Number(locked!.new_row_offset), fenced: undefined, pushed }
      }
      const pushed = yield* pushKnown
      const moved = yield* moveAll(node)
      yield* sql`
        INSERT INTO segment_pool_fences AS p (biz_tag_id, datacenter_id, consumed_to)
        SELECT biz_tag_id, datacenter_id, max_id FROM segments
        ON CONFLICT (biz_tag_id, datacenter_id) DO UPDATE SET consumed_to = GREATEST(p.consumed_to, EXCLUDED.consumed_to)`
      yield* sql`
        UPDATE storage_fence
        SET (system_identifier, timeline) = (SELECT system_identifier, timeline FROM idgen_incarnation()),
            new_row_offset = ${BigInt(gap)}, fences = fences + 1, fenced_at = now(), fenced_by = ${node}`
      const generation = `${current}#${BigInt(locked!.fences) + 1n}`
      return { incarnation: current, generation, newRowOffset: gap, fenced: { from: locked!.stored, moved }, pushed }
    })

  const check = (node: string): Effect.Effect<Checked, SqlError> =>
    Effect.gen(function*() {
      const [row] = yield* sql<
        { readonly current: string; readonly stored: string | null; readonly new_row_offset: bigint; readonly fences: bigint }
      >`
        SELECT i.system_identifier || '/' || i.timeline AS current,
               f.system_identifier || '/' || f.timeline AS stored, f.new_row_offset, f.fences
        FROM idgen_incarnation() AS i LEFT JOIN storage_fence AS f ON true`
      const { current, stored } = row!
      if (stored !== current) return yield* fence(current, node)
      const generation = `${current}#${row!.fences}`
      const pushed = seen !== undefined && seen !== generation ? yield* pushKnown : 0
      return { incarnation: current, generation, newRowOffset: Number(row!.new_row_offset), fenced: undefined, pushed }
    })

  const committed = (checked: Checked, handed: Handed) =>
    Effect.gen(function*() {
      const key = `${handed.bizTagId}/${handed.datacenterId}`
      const end = Math.max(known.get(key)?.end_id ?? 0, handed.end)
      known.set(key, {
        biz_tag_id: handed.bizTagId,
        datacenter_id: handed.datacenterId,
        range_start: handed.rangeStart,
        range_end: handed.rangeEnd,
        step: handed.step,
        end_id: end
      })
      if (checked.pushed > 0) {
        yield* Effect.logInfo("storage fence: pushed the segment ends this node was handed to the new database incarnation")
          .pipe(Effect.annotateLogs({ incarnation: checked.incarnation, previous: seen ?? "none", rows: checked.pushed }))
      }
      seen = checked.generation
      if (checked.fenced === undefined) return
      yield* Metric.update(StorageMetrics.fences, 1)
      yield* Effect.logWarning(
        "storage fence: the database changed incarnation (promoted standby or restore); every segment pointer " +
          "was moved past the safety gap before this allocation"
      ).pipe(Effect.annotateLogs({
        from: checked.fenced.from,
        to: checked.incarnation,
        gap,
        pointersMoved: checked.fenced.moved
      }))
    })

  return { check, committed }
}
