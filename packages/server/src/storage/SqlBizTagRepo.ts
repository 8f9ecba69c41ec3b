/**
 * `BizTagRepo` on PostgreSQL (or the embedded store).
 *
 * Groups are created on demand. `ensure` is race-safe across fibers and processes:
 * `INSERT … ON CONFLICT DO NOTHING` then `SELECT`, so every concurrent caller returns the one
 * row that won (under READ COMMITTED the follow-up SELECT sees the winner's committed row).
 *
 * A deleted biz_tag is a tombstone (`deleted_at`): its row and its `segments` rows stay, so
 * its numbers are never handed out again. Creating it again through the operator API brings
 * the row back as a new incarnation: a new id, which its `segments` and pool fence rows follow
 * (migration 0012), so its counter continues above everything the old one was handed — to
 * nodes' buffers and to the Redis pool alike — while what nodes keep under the old id (their
 * buffers, actors, pool entries) is never used for it: an allocation or a pool claim naming
 * the old id fails.
 *
 * Changes of settings (`update`, a re-create) lock the row `FOR UPDATE`, which also waits
 * for — or sees — an allocation inserting the first `segments` row (its foreign-key check
 * takes a KEY SHARE lock on the row). A change of rendering (`Rendering`) is refused once
 * numbers were issued; before that it is allowed and gives the row a new id, so a node still
 * holding the old settings cannot issue the first numbers with the old rendering: its
 * allocation names an id that no longer exists and fails until it reloads the biz_tag.
 */
import { Errors, Names } from "@idgen/core"
import { Effect, Layer, Option, Semaphore } from "effect"
import { SqlClient } from "effect/sql"
import type { Fragment } from "effect/sql/Statement"
import { type BizTagPatch, BizTagRepo, type BizTagSettings } from "./BizTagRepo.ts"
import type { BizTagRecord } from "./Records.ts"
import * as Rendering from "./Rendering.ts"
import { orDatabaseUnavailable, orInvalidDataOrUnavailable, uniqueViolation } from "./SqlFailure.ts"

interface BizTagRow {
  readonly id: string
  readonly workspace: string
  readonly group_name: string
  readonly name: string
  readonly algorithm: string
  readonly fallback: ReadonlyArray<string>
  readonly step: bigint
  readonly format_template: string | null
  readonly auto_created: boolean
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
  autoCreated: row.auto_created,
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

const keyDetails = (key: Names.SequenceKey) => ({ workspace: key.workspace, group: key.group, biz_tag: key.bizTag })

/** A deleted biz_tag asked for on first use (auto-create, `ensure`): it does not come back that way. */
const bizTagDeleted = (key: Names.SequenceKey) =>
  new Errors.NotFound({
    message: `biz_tag ${Names.keyString(key)} was deleted; first use does not bring it back ` +
      `(an operator can create it again: POST /api/v1/admin/workspaces/${key.workspace}/biz-tags)`,
    details: { ...keyDetails(key), deleted: true }
  })

const alreadyExists = (key: Names.SequenceKey) =>
  new Errors.Conflict({ message: `biz_tag ${Names.keyString(key)} already exists`, details: keyDetails(key) })

const renderingFixed = (key: Names.SequenceKey) =>
  new Errors.Conflict({
    message: `biz_tag ${Names.keyString(key)} has issued numbers, so its format template cannot change and formatted ` +
      "cannot enter or leave its algorithm chain: the new rendering could repeat an ID it already issued; " +
      "create a new biz_tag for the new form",
    details: { ...keyDetails(key), reason: "rendering_fixed_after_issue" }
  })

/** The columns of a locked row that a settings change is checked against. */
interface SettingsRow {
  readonly id: string
  readonly algorithm: string
  readonly fallback: ReadonlyArray<string>
  readonly format_template: string | null
  readonly deleted_at: Date | null
}

const renderingOf = (row: SettingsRow): Rendering.Rendering => ({
  algorithm: row.algorithm as Names.Algorithm,
  fallback: row.fallback as ReadonlyArray<Names.Algorithm>,
  formatTemplate: row.format_template
})

export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient

  const select = sql.literal(`
    SELECT t.id, w.name AS workspace, g.name AS group_name, t.name, t.algorithm, t.fallback, t.step,
           t.format_template, t.auto_created, t.created_at, t.updated_at
    FROM biz_tags t
    JOIN groups g ON g.id = t.group_id
    JOIN workspaces w ON w.id = g.workspace_id`)

  const findRow = (key: Names.SequenceKey) =>
    sql<BizTagRow>`${select}
      WHERE w.name = ${key.workspace} AND g.name = ${key.group} AND t.name = ${key.bizTag} AND t.deleted_at IS NULL`.pipe(
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

  /** The row of `key`, deleted or not, locked for a change of its settings. */
  const lockRow = (key: Names.SequenceKey) =>
    Effect.map(
      sql<SettingsRow>`
        SELECT t.id, t.algorithm, t.fallback, t.format_template, t.deleted_at
        FROM biz_tags t JOIN groups g ON g.id = t.group_id JOIN workspaces w ON w.id = g.workspace_id
        WHERE w.name = ${key.workspace} AND g.name = ${key.group} AND t.name = ${key.bizTag}
        FOR UPDATE OF t`,
      (rows) => Option.fromNullishOr(rows[0])
    )

  /**
   * Whether the change from the locked `row` to `next` needs a new row id (see the module
   * comment); Conflict when it changes the rendering of a counter that has issued numbers.
   */
  const checkRendering = Effect.fnUntraced(function*(key: Names.SequenceKey, row: SettingsRow, next: Rendering.Rendering) {
    if (!Rendering.changes(renderingOf(row), next)) return false
    const issued = yield* sql<{ readonly issued: boolean }>`
      SELECT EXISTS (SELECT 1 FROM segments WHERE biz_tag_id = ${row.id}::uuid)
          OR EXISTS (SELECT 1 FROM segment_pool_fences WHERE biz_tag_id = ${row.id}::uuid) AS issued`
    if (issued[0]?.issued === true) return yield* renderingFixed(key)
    return true
  })

  /** Writes `settings` to the locked row `id` (a new id when `renew`), live again if it was deleted. */
  const writeSettings = (id: string, settings: Partial<BizTagSettings>, renew: boolean, recreate: boolean) => {
    // A re-creation's `updated_at` lies after its `created_at`, or the change poll — which
    // skips rows unchanged since their creation — would not tell the nodes of it.
    const sets: Array<Fragment> = [recreate ? sql`updated_at = clock_timestamp()` : sql`updated_at = now()`]
    if (settings.algorithm !== undefined) sets.push(sql`algorithm = ${settings.algorithm}`)
    if (settings.fallback !== undefined) sets.push(sql`fallback = ${[...settings.fallback]}::text[]`)
    if (settings.step !== undefined) sets.push(sql`step = ${BigInt(settings.step)}`)
    if (settings.formatTemplate !== undefined) sets.push(sql`format_template = ${settings.formatTemplate}::text`)
    if (renew) sets.push(sql`id = gen_random_uuid()`)
    // Created anew by the operator: live, counted as the operator's, its creation time now.
    if (recreate) sets.push(sql`deleted_at = NULL`, sql`auto_created = false`, sql`created_at = now()`)
    return sql`UPDATE biz_tags SET ${sql.csv(sets)} WHERE id = ${id}::uuid`
  }

  const create = Effect.fn("BizTagRepo.create")(
    function*(key: Names.SequenceKey, settings: BizTagSettings) {
      const created = yield* sql.withTransaction(Effect.gen(function*() {
        const groupId = yield* ensureGroup(key)
        const existing = yield* lockRow(key)
        if (Option.isNone(existing)) {
          yield* insertValues(groupId, key, settings).pipe(
            Effect.catchIf((error) => uniqueViolation(error) !== undefined, () => Effect.fail(alreadyExists(key)))
          )
        } else if (existing.value.deleted_at === null) {
          return yield* alreadyExists(key)
        } else {
          // A deleted biz_tag comes back as the same row, a new incarnation (see the module comment).
          yield* checkRendering(key, existing.value, settings)
          yield* writeSettings(existing.value.id, settings, true, true)
        }
        return yield* findRow(key)
      }))
      if (Option.isNone(created)) return yield* Effect.die("created biz_tag not found")
      return created.value
    },
    orInvalidDataOrUnavailable("BizTagRepo.create")
  )

  const ensure = Effect.fn("BizTagRepo.ensure")(
    function*(key: Names.SequenceKey, settings: BizTagSettings) {
      const existing = yield* findRow(key)
      if (Option.isSome(existing)) return existing.value
      const groupId = yield* ensureGroup(key)
      yield* sql`${insertValues(groupId, key, settings)} ON CONFLICT (group_id, name) DO NOTHING`
      const row = yield* findRow(key)
      // The insert found a row and the live ones do not show it: a tombstone.
      if (Option.isNone(row)) return yield* bizTagDeleted(key)
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
      const rows = yield* sql<BizTagRow>`${select} WHERE w.name = ${workspace} AND t.deleted_at IS NULL ORDER BY g.name, t.name`
      return rows.map(toRecord)
    },
    orDatabaseUnavailable("BizTagRepo.list")
  )

  const update = Effect.fn("BizTagRepo.update")(
    function*(key: Names.SequenceKey, patch: BizTagPatch) {
      return yield* sql.withTransaction(Effect.gen(function*() {
        const locked = yield* lockRow(key)
        if (Option.isNone(locked) || locked.value.deleted_at !== null) return yield* bizTagNotFound(key)
        const current = renderingOf(locked.value)
        const renew = yield* checkRendering(key, locked.value, {
          algorithm: patch.algorithm ?? current.algorithm,
          fallback: patch.fallback ?? current.fallback,
          formatTemplate: patch.formatTemplate === undefined ? current.formatTemplate : patch.formatTemplate
        })
        yield* writeSettings(locked.value.id, patch, renew, false)
        const row = yield* findRow(key)
        if (Option.isNone(row)) return yield* bizTagNotFound(key)
        return row.value
      }))
    },
    orInvalidDataOrUnavailable("BizTagRepo.update")
  )

  const remove = Effect.fn("BizTagRepo.remove")(
    function*(key: Names.SequenceKey) {
      // A tombstone, not a DELETE: the segments rows cascade from this row and must stay.
      const rows = yield* sql<{ readonly id: string }>`
        UPDATE biz_tags t SET deleted_at = now(), updated_at = now()
        FROM groups g JOIN workspaces w ON w.id = g.workspace_id
        WHERE g.id = t.group_id AND w.name = ${key.workspace} AND g.name = ${key.group} AND t.name = ${key.bizTag}
          AND t.deleted_at IS NULL
        RETURNING t.id`
      if (rows.length === 0) return yield* bizTagNotFound(key)
    },
    orDatabaseUnavailable("BizTagRepo.remove")
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

  /**
   * A workspace's auto-create transactions run one at a time (its row lock), so this process
   * queues its own here rather than on that lock: each one waiting there holds a pool
   * connection, and a flood of new biz_tags (a load test's random biz_tag per request) had
   * every connection waiting for the lock while the other requests' reads and segment
   * allocations timed out behind them (503 IDGEN-SEG-1003 from a reachable database).
   * A workspace's entry lives while one of its auto-creates does.
   */
  const turns = new Map<string, { readonly semaphore: Semaphore.Semaphore; users: number }>()
  const inTurn = <A, E, R>(workspace: string, effect: Effect.Effect<A, E, R>) =>
    Effect.suspend(() => {
      const turn = turns.get(workspace) ?? { semaphore: Semaphore.makeUnsafe(1), users: 0 }
      turns.set(workspace, turn)
      turn.users++
      return turn.semaphore.withPermits(1)(effect).pipe(Effect.ensuring(Effect.sync(() => {
        if (--turn.users === 0) turns.delete(workspace)
      })))
    })

  const autoCreate = Effect.fn("BizTagRepo.autoCreate")(
    function*(key: Names.SequenceKey, settings: BizTagSettings) {
      const existing = yield* findRow(key)
      if (Option.isSome(existing)) return existing
      const tombstone = yield* sql`
        SELECT 1 FROM biz_tags t JOIN groups g ON g.id = t.group_id JOIN workspaces w ON w.id = g.workspace_id
        WHERE w.name = ${key.workspace} AND g.name = ${key.group} AND t.name = ${key.bizTag} AND t.deleted_at IS NOT NULL`
      if (tombstone.length > 0) return yield* bizTagDeleted(key)
      return yield* inTurn(key.workspace, sql.withTransaction(Effect.gen(function*() {
        // The workspace row is locked: its auto-creates run one at a time, so the count holds.
        const workspaces = yield* sql<{ readonly id: string; readonly max_auto_biz_tags: number }>`
          SELECT id, max_auto_biz_tags FROM workspaces WHERE name = ${key.workspace} FOR UPDATE`
        const workspace = workspaces[0]
        if (workspace === undefined) return yield* workspaceNotFound(key.workspace)
        const counted = yield* sql<{ readonly n: number }>`
          SELECT count(*)::integer AS n FROM biz_tags t JOIN groups g ON g.id = t.group_id
          WHERE g.workspace_id = ${workspace.id}::uuid AND t.auto_created AND t.deleted_at IS NULL`
        if (counted[0]!.n < workspace.max_auto_biz_tags) {
          const groupId = yield* ensureGroup(key)
          yield* sql`INSERT INTO biz_tags (group_id, name, algorithm, fallback, step, format_template, auto_created)
            VALUES (${groupId}::uuid, ${key.bizTag}, ${settings.algorithm}, ${[...settings.fallback]}::text[],
                    ${BigInt(settings.step)}, ${settings.formatTemplate}::text, true)
            ON CONFLICT (group_id, name) DO NOTHING`
        }
        // Created now, or by a concurrent caller; none when the workspace is at its limit.
        return yield* findRow(key)
      })))
    },
    orDatabaseUnavailable("BizTagRepo.autoCreate")
  )

  return BizTagRepo.of({ create, ensure, autoCreate, find, list, update, remove, updatedSince })
})

/** `BizTagRepo`. Requires `SqlClient`. */
export const layer: Layer.Layer<BizTagRepo, never, SqlClient.SqlClient> = Layer.effect(BizTagRepo, make)
