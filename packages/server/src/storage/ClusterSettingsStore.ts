/**
 * The `cluster_settings` row (migration 0005) and what the database knows that decides
 * whether new settings are safe: the segment rows already created.
 */
import { type AuditActions, Snowflake } from "@idgen/core"
import { Effect, Option } from "effect"
import { SqlClient } from "effect/sql"
import type { ClusterSettings, RowCollision } from "./ClusterSettings.ts"

export interface StoredSettings extends ClusterSettings {
  readonly pinnedAt: Date
  /** The node (first start) or operator (`idgen cluster pin`) that wrote them. */
  readonly pinnedBy: string
}

/** The pinned settings, if any. */
export const read = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{
    readonly epoch_ms: bigint
    readonly range_size: bigint
    readonly layout_version: number
    readonly pinned_at: Date
    readonly pinned_by: string
  }>`SELECT epoch_ms, range_size, layout_version, pinned_at, pinned_by FROM cluster_settings`
  return Option.map(Option.fromNullishOr(rows[0]), (row): StoredSettings => ({
    epochMs: Number(row.epoch_ms),
    rangeSize: Number(row.range_size),
    layoutVersion: row.layout_version,
    pinnedAt: row.pinned_at,
    pinnedBy: row.pinned_by
  }))
})

/**
 * Serialises pinning with every other pinner and with the creation of segment rows, for the
 * rest of the transaction: what the checks read stays true until the new settings commit.
 */
export const lockForPinning = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`LOCK TABLE cluster_settings IN SHARE ROW EXCLUSIVE MODE`
  yield* sql`LOCK TABLE segments IN SHARE MODE`
})

/** The largest segment ID any row can issue, at least 8R. */
export const segmentCeiling = (rangeSize: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ readonly ceiling: bigint }>`
      SELECT GREATEST(${BigInt(8 * rangeSize)}::bigint, COALESCE(MAX(range_end), 0)) AS ceiling FROM segments`
    return Number(rows[0]?.ceiling ?? 8 * rangeSize)
  })

/**
 * A row that a new row under `rangeSize` would overlap: a biz_tag with a row in one
 * datacenter and none yet in another whose range under `rangeSize` meets it.
 */
export const rowCollision = (rangeSize: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const r = BigInt(rangeSize)
    const rows = yield* sql<{
      readonly biz_tag_id: string
      readonly datacenter_id: number
      readonly range_start: bigint
      readonly range_end: bigint
      readonly new_datacenter_id: number
    }>`
      SELECT s.biz_tag_id::text AS biz_tag_id, s.datacenter_id, s.range_start, s.range_end, d.dc AS new_datacenter_id
      FROM segments s CROSS JOIN generate_series(0, ${Snowflake.MAX_DATACENTER_ID}::int) AS d(dc)
      WHERE NOT EXISTS (SELECT 1 FROM segments t WHERE t.biz_tag_id = s.biz_tag_id AND t.datacenter_id = d.dc)
        AND s.range_start <= (d.dc + 1) * ${r}::bigint AND s.range_end >= d.dc * ${r}::bigint + 1
      ORDER BY s.biz_tag_id, s.datacenter_id, d.dc
      LIMIT 1`
    return Option.map(Option.fromNullishOr(rows[0]), (row): RowCollision => ({
      bizTagId: row.biz_tag_id,
      datacenterId: row.datacenter_id,
      rangeStart: Number(row.range_start),
      rangeEnd: Number(row.range_end),
      newDatacenterId: row.new_datacenter_id
    }))
  })

/** Who writes: recorded as `pinned_by` and, for a change, as the audit row's actor and node. */
export interface Writer {
  readonly actor: string
  readonly node: string
}

/** The audit log's action of a change of the pinned settings (written in the change's transaction). */
const pinAction: AuditActions.Action = "pin_cluster_settings"

/** Writes the settings (first pin, or a change), auditing a change with its old values. */
export const write = (settings: ClusterSettings, by: Writer, previous: Option.Option<StoredSettings>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const values = {
      epochMs: BigInt(settings.epochMs),
      rangeSize: BigInt(settings.rangeSize),
      layoutVersion: settings.layoutVersion
    }
    if (Option.isNone(previous)) {
      yield* sql`
        INSERT INTO cluster_settings (epoch_ms, range_size, layout_version, pinned_by)
        VALUES (${values.epochMs}, ${values.rangeSize}, ${values.layoutVersion}, ${by.actor})`
      return
    }
    yield* sql`
      UPDATE cluster_settings
      SET epoch_ms = ${values.epochMs}, range_size = ${values.rangeSize}, layout_version = ${values.layoutVersion},
          pinned_at = now(), pinned_by = ${by.actor}`
    const old = previous.value
    const metadata = {
      from: { epoch_ms: old.epochMs, range_size: old.rangeSize, layout_version: old.layoutVersion },
      to: { epoch_ms: settings.epochMs, range_size: settings.rangeSize, layout_version: settings.layoutVersion }
    }
    yield* sql`
      INSERT INTO audit_log (event_type, actor, action, resource, result, node, metadata)
      VALUES ('operator', ${by.actor}, ${pinAction}, 'cluster_settings', 'success', ${by.node},
              ${JSON.stringify(metadata)}::jsonb)`
  })
