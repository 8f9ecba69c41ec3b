/**
 * `WorkspaceRepo` on PostgreSQL (or the embedded store).
 */
import { Errors, type Names } from "@idgen/core"
import { Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import type { Fragment } from "effect/sql/Statement"
import type { WorkspaceRecord } from "./Records.ts"
import { orDatabaseUnavailable, orInvalidDataOrUnavailable, uniqueViolation } from "./SqlFailure.ts"
import { type CreateWorkspace, WorkspaceRepo, type WorkspacePatch } from "./WorkspaceRepo.ts"

/** A `workspaces` row as selected by `COLUMNS`. */
export interface WorkspaceRow {
  readonly id: string
  readonly name: string
  readonly default_algorithm: string
  readonly auto_create_biz_tags: boolean
  readonly max_auto_biz_tags: number
  readonly default_fallback: ReadonlyArray<string>
  readonly rate_limit_per_second: number | null
  readonly rate_limit_burst: number | null
  readonly rate_limit_ids_per_second: number | null
  readonly rate_limit_ids_burst: number | null
  readonly created_at: Date
}

export const toWorkspaceRecord = (row: WorkspaceRow): WorkspaceRecord => ({
  id: row.id,
  name: row.name as Names.WorkspaceName,
  defaultAlgorithm: row.default_algorithm as Names.Algorithm,
  autoCreateBizTags: row.auto_create_biz_tags,
  maxAutoBizTags: row.max_auto_biz_tags,
  defaultFallback: row.default_fallback as ReadonlyArray<Names.Algorithm>,
  rateLimit: row.rate_limit_per_second === null || row.rate_limit_burst === null
    ? null
    : {
      perSecond: row.rate_limit_per_second,
      burst: row.rate_limit_burst,
      ...(row.rate_limit_ids_per_second === null || row.rate_limit_ids_burst === null
        ? {}
        : { ids: { perSecond: row.rate_limit_ids_per_second, burst: row.rate_limit_ids_burst } })
    },
  createdAt: row.created_at
})

/** The contract's default of `max_auto_biz_tags`. */
export const defaultMaxAutoBizTags = 10_000

export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const columns = sql.literal(
    "id, name, default_algorithm, auto_create_biz_tags, max_auto_biz_tags, default_fallback, rate_limit_per_second, " +
      "rate_limit_burst, rate_limit_ids_per_second, rate_limit_ids_burst, created_at"
  )

  const create = Effect.fn("WorkspaceRepo.create")(
    function*(input: CreateWorkspace) {
      const rows = yield* sql<WorkspaceRow>`
        INSERT INTO workspaces (name, default_algorithm, auto_create_biz_tags, max_auto_biz_tags, default_fallback,
                                rate_limit_per_second, rate_limit_burst, rate_limit_ids_per_second, rate_limit_ids_burst)
        VALUES (${input.name}, ${input.defaultAlgorithm}, ${input.autoCreateBizTags}, ${input.maxAutoBizTags ?? defaultMaxAutoBizTags},
                ${[...(input.defaultFallback ?? [])]}::text[],
                ${input.rateLimit?.perSecond ?? null}::integer, ${input.rateLimit?.burst ?? null}::integer,
                ${input.rateLimit?.ids?.perSecond ?? null}::integer, ${input.rateLimit?.ids?.burst ?? null}::integer)
        RETURNING ${columns}`.pipe(
        Effect.catchIf(
          (error) => uniqueViolation(error) !== undefined,
          () =>
            Effect.fail(
              new Errors.Conflict({
                message: `workspace ${input.name} already exists`,
                details: { workspace: input.name }
              })
            )
        )
      )
      return toWorkspaceRecord(rows[0]!)
    },
    orInvalidDataOrUnavailable("WorkspaceRepo.create")
  )

  const list = Effect.fn("WorkspaceRepo.list")(
    function*() {
      const rows = yield* sql<WorkspaceRow>`SELECT ${columns} FROM workspaces ORDER BY name`
      return rows.map(toWorkspaceRecord)
    },
    orDatabaseUnavailable("WorkspaceRepo.list")
  )

  const findByName = Effect.fn("WorkspaceRepo.findByName")(
    function*(name: Names.WorkspaceName) {
      const rows = yield* sql<WorkspaceRow>`SELECT ${columns} FROM workspaces WHERE name = ${name}`
      return Option.map(Option.fromNullishOr(rows[0]), toWorkspaceRecord)
    },
    orDatabaseUnavailable("WorkspaceRepo.findByName")
  )

  const update = Effect.fn("WorkspaceRepo.update")(
    function*(name: Names.WorkspaceName, patch: WorkspacePatch) {
      const sets: Array<Fragment> = []
      if (patch.defaultAlgorithm !== undefined) sets.push(sql`default_algorithm = ${patch.defaultAlgorithm}`)
      if (patch.autoCreateBizTags !== undefined) sets.push(sql`auto_create_biz_tags = ${patch.autoCreateBizTags}`)
      if (patch.maxAutoBizTags !== undefined) sets.push(sql`max_auto_biz_tags = ${patch.maxAutoBizTags}`)
      if (patch.defaultFallback !== undefined) sets.push(sql`default_fallback = ${[...patch.defaultFallback]}::text[]`)
      if (patch.rateLimit !== undefined) {
        sets.push(sql`rate_limit_per_second = ${patch.rateLimit?.perSecond ?? null}::integer`)
        sets.push(sql`rate_limit_burst = ${patch.rateLimit?.burst ?? null}::integer`)
        sets.push(sql`rate_limit_ids_per_second = ${patch.rateLimit?.ids?.perSecond ?? null}::integer`)
        sets.push(sql`rate_limit_ids_burst = ${patch.rateLimit?.ids?.burst ?? null}::integer`)
      }
      const rows = sets.length === 0
        ? yield* sql<WorkspaceRow>`SELECT ${columns} FROM workspaces WHERE name = ${name}`
        : yield* sql<WorkspaceRow>`UPDATE workspaces SET ${sql.csv(sets)} WHERE name = ${name} RETURNING ${columns}`
      const row = rows[0]
      if (row === undefined) {
        return yield* new Errors.NotFound({ message: `workspace ${name} does not exist`, details: { workspace: name } })
      }
      return toWorkspaceRecord(row)
    },
    orInvalidDataOrUnavailable("WorkspaceRepo.update")
  )

  return WorkspaceRepo.of({ create, list, findByName, update })
})

/** `WorkspaceRepo`. Requires `SqlClient`. */
export const layer: Layer.Layer<WorkspaceRepo, never, SqlClient.SqlClient> = Layer.effect(WorkspaceRepo, make)
