/**
 * `BizTagRepo` on PostgreSQL (or the embedded store).
 *
 * Groups are created on demand. `ensure` is race-safe across fibers and processes:
 * `INSERT … ON CONFLICT DO NOTHING` then `SELECT`, so every concurrent caller returns the one
 * row that won (under READ COMMITTED the follow-up SELECT sees the winner's committed row).
 */
import { Errors, Names } from "@idgen/core"
import { Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import type { Fragment } from "effect/sql/Statement"
import { type BizTagPatch, BizTagRepo, type BizTagSettings } from "./BizTagRepo.ts"
import type { BizTagRecord } from "./Records.ts"
import { orDatabaseUnavailable, uniqueViolation } from "./SqlFailure.ts"

interface BizTagRow {
  readonly id: string
  readonly workspace: string
  readonly group_name: string
  readonly name: string
  readonly algorithm: string
  readonly fallback: ReadonlyArray<string>
  readonly step: bigint
  readonly format_template: string | null
  readonly created_at: Date
  readonly updated_at: Date
}

const toRecord = (row: BizTagRow): BizTagRecord => ({
  id: row.id,
  workspace: row.workspace as Names.WorkspaceName,
  group: row.group_name as Names.GroupName,
  name: row.name as Names.BizTagName,
  algorithm: row.algorithm as Names.Algorithm,
  fallback: row.fallback as ReadonlyArray<Names.Algorithm>,
  step: Number(row.step),
  formatTemplate: row.format_template,
  createdAt: row.created_at,
  updatedAt: row.updated_at
})

const workspaceNotFound = (workspace: string) =>
  new Errors.NotFound({ message: `workspace ${workspace} does not exist`, details: { workspace } })

const bizTagNotFound = (key: Names.SequenceKey) =>
  new Errors.NotFound({
    message: `biz_tag ${Names.keyString(key)} does not exist`,
    details: { workspace: key.workspace, group: key.group, biz_tag: key.bizTag }
  })

export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient

  const select = sql.literal(`
    SELECT t.id, w.name AS workspace, g.name AS group_name, t.name, t.algorithm, t.fallback, t.step,
           t.format_template, t.created_at, t.updated_at
    FROM biz_tags t
    JOIN groups g ON g.id = t.group_id
    JOIN workspaces w ON w.id = g.workspace_id`)

  const findRow = (key: Names.SequenceKey) =>
    sql<BizTagRow>`${select}
      WHERE w.name = ${key.workspace} AND g.name = ${key.group} AND t.name = ${key.bizTag}`.pipe(
      Effect.map((rows) => Option.map(Option.fromNullishOr(rows[0]), toRecord))
    )

  /** The group's id, creating the group when needed; NotFound when the workspace does not exist. */
  const ensureGroup = (key: Names.SequenceKey) =>
    Effect.gen(function*() {
      yield* sql`
        INSERT INTO groups (workspace_id, name)
        SELECT id, ${key.group} FROM workspaces WHERE name = ${key.workspace}
        ON CONFLICT (workspace_id, name) DO NOTHING`
      const rows = yield* sql<{ readonly id: string }>`
        SELECT g.id FROM groups g JOIN workspaces w ON w.id = g.workspace_id
        WHERE w.name = ${key.workspace} AND g.name = ${key.group}`
      const row = rows[0]
      if (row === undefined) return yield* workspaceNotFound(key.workspace)
      return row.id
    })

  const insertValues = (groupId: string, key: Names.SequenceKey, settings: BizTagSettings) =>
    sql`INSERT INTO biz_tags (group_id, name, algorithm, fallback, step, format_template)
        VALUES (${groupId}::uuid, ${key.bizTag}, ${settings.algorithm}, ${[...settings.fallback]}::text[],
                ${BigInt(settings.step)}, ${settings.formatTemplate}::text)`

  const create = Effect.fn("BizTagRepo.create")(
    function*(key: Names.SequenceKey, settings: BizTagSettings) {
      const created = yield* sql.withTransaction(Effect.gen(function*() {
        const groupId = yield* ensureGroup(key)
        yield* insertValues(groupId, key, settings).pipe(
          Effect.catchIf(
            (error) => uniqueViolation(error) !== undefined,
            () =>
              Effect.fail(
                new Errors.Conflict({
                  message: `biz_tag ${Names.keyString(key)} already exists`,
                  details: { workspace: key.workspace, group: key.group, biz_tag: key.bizTag }
                })
              )
          )
        )
        return yield* findRow(key)
      }))
      if (Option.isNone(created)) return yield* Effect.die("created biz_tag not found")
      return created.value
    },
    orDatabaseUnavailable("BizTagRepo.create")
  )

  const ensure = Effect.fn("BizTagRepo.ensure")(
    function*(key: Names.SequenceKey, settings: BizTagSettings) {
      const existing = yield* findRow(key)
      if (Option.isSome(existing)) return existing.value
      const groupId = yield* ensureGroup(key)
      yield* sql`${insertValues(groupId, key, settings)} ON CONFLICT (group_id, name) DO NOTHING`
      const row = yield* findRow(key)
      if (Option.isNone(row)) return yield* Effect.die("ensured biz_tag not found")
      return row.value
    },
    orDatabaseUnavailable("BizTagRepo.ensure")
  )

  const find = Effect.fn("BizTagRepo.find")(
    function*(key: Names.SequenceKey) {
      return yield* findRow(key)
    },
    orDatabaseUnavailable("BizTagRepo.find")
  )

  const list = Effect.fn("BizTagRepo.list")(
    function*(workspace: Names.WorkspaceName) {
      const rows = yield* sql<BizTagRow>`${select} WHERE w.name = ${workspace} ORDER BY g.name, t.name`
      return rows.map(toRecord)
    },
    orDatabaseUnavailable("BizTagRepo.list")
  )

  const update = Effect.fn("BizTagRepo.update")(
    function*(key: Names.SequenceKey, patch: BizTagPatch) {
      const sets: Array<Fragment> = [sql`updated_at = now()`]
      if (patch.algorithm !== undefined) sets.push(sql`algorithm = ${patch.algorithm}`)
      if (patch.fallback !== undefined) sets.push(sql`fallback = ${[...patch.fallback]}::text[]`)
      if (patch.step !== undefined) sets.push(sql`step = ${BigInt(patch.step)}`)
      if (patch.formatTemplate !== undefined) sets.push(sql`format_template = ${patch.formatTemplate}::text`)
      const updated = yield* sql<{ readonly id: string }>`
        UPDATE biz_tags t SET ${sql.csv(sets)}
        FROM groups g JOIN workspaces w ON w.id = g.workspace_id
        WHERE g.id = t.group_id AND w.name = ${key.workspace} AND g.name = ${key.group} AND t.name = ${key.bizTag}
        RETURNING t.id`
      if (updated.length === 0) return yield* bizTagNotFound(key)
      const row = yield* findRow(key)
      if (Option.isNone(row)) return yield* bizTagNotFound(key)
      return row.value
    },
    orDatabaseUnavailable("BizTagRepo.update")
  )

  const updatedSince = Effect.fn("BizTagRepo.updatedSince")(
    function*(since: Date) {
      // One row with NULLs when nothing changed, so that the database's clock always comes back.
      const rows = yield* sql<{
        readonly checked_at: Date
        readonly workspace: string | null
        readonly group_name: string | null
        readonly name: string | null
        readonly updated_at: Date | null
      }>`
        SELECT now() AS checked_at, c.workspace, c.group_name, c.name, c.updated_at
        FROM (SELECT 1) one LEFT JOIN (
          SELECT w.name AS workspace, g.name AS group_name, t.name, t.updated_at
          FROM biz_tags t
          JOIN groups g ON g.id = t.group_id
          JOIN workspaces w ON w.id = g.workspace_id
          WHERE t.updated_at > ${since}::timestamptz AND t.updated_at > t.created_at
        ) c ON true`
      const updated = rows.flatMap((row) =>
        row.name === null || row.updated_at === null ? [] : [{
          key: {
            workspace: row.workspace as Names.WorkspaceName,
            group: row.group_name as Names.GroupName,
            bizTag: row.name as Names.BizTagName
          },
          updatedAt: row.updated_at
        }]
      )
      return { updated, checkedAt: rows[0]?.checked_at ?? since }
    },
    orDatabaseUnavailable("BizTagRepo.updatedSince")
  )

  const autoCreate = Effect.fn("BizTagRepo.autoCreate")(
    function*(key: Names.SequenceKey, settings: BizTagSettings) {
      const existing = yield* findRow(key)
      if (Option.isSome(existing)) return existing
      return yield* sql.withTransaction(Effect.gen(function*() {
        // The workspace row is locked: its auto-creates run one at a time, so the count holds.
        const workspaces = yield* sql<{ readonly id: string; readonly max_auto_biz_tags: number }>`
          SELECT id, max_auto_biz_tags FROM workspaces WHERE name = ${key.workspace} FOR UPDATE`
        const workspace = workspaces[0]
        if (workspace === undefined) return yield* workspaceNotFound(key.workspace)
        const counted = yield* sql<{ readonly n: number }>`
          SELECT count(*)::integer AS n FROM biz_tags t JOIN groups g ON g.id = t.group_id
          WHERE g.workspace_id = ${workspace.id}::uuid AND t.auto_created`
        if (counted[0]!.n < workspace.max_auto_biz_tags) {
          const groupId = yield* ensureGroup(key)
          yield* sql`INSERT INTO biz_tags (group_id, name, algorithm, fallback, step, format_template, auto_created)
            VALUES (${groupId}::uuid, ${key.bizTag}, ${settings.algorithm}, ${[...settings.fallback]}::text[],
                    ${BigInt(settings.step)}, ${settings.formatTemplate}::text, true)
            ON CONFLICT (group_id, name) DO NOTHING`
        }
        // Created now, or by a concurrent caller; none when the workspace is at its limit.
        return yield* findRow(key)
      }))
    },
    orDatabaseUnavailable("BizTagRepo.autoCreate")
  )

  return BizTagRepo.of({ create, ensure, autoCreate, find, list, update, updatedSince })
})

/** `BizTagRepo`. Requires `SqlClient`. */
export const layer: Layer.Layer<BizTagRepo, never, SqlClient.SqlClient> = Layer.effect(BizTagRepo, make)
