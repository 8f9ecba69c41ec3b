/**
 * Workspaces: the tenants.
 */
import type { Errors, Names } from "@idgen/core"
import { Context, type Effect, type Option } from "effect"
import type { RateLimit, WorkspaceRecord } from "./Records.ts"

export interface CreateWorkspace {
  readonly name: Names.WorkspaceName
  readonly defaultAlgorithm: Names.Algorithm
  readonly autoCreateBizTags: boolean
  /** Default 10 000. */
  readonly maxAutoBizTags?: number | undefined
  /** Default: none. */
  readonly defaultFallback?: ReadonlyArray<Names.Algorithm> | undefined
  readonly rateLimit: RateLimit | null
}

/** The settings a PATCH changes (absent: unchanged). */
export interface WorkspacePatch {
  readonly defaultAlgorithm?: Names.Algorithm
  readonly autoCreateBizTags?: boolean
  readonly maxAutoBizTags?: number
  readonly defaultFallback?: ReadonlyArray<Names.Algorithm>
  readonly rateLimit?: RateLimit | null
}

export class WorkspaceRepo extends Context.Service<WorkspaceRepo, {
  create(
    input: CreateWorkspace
  ): Effect.Effect<WorkspaceRecord, Errors.InvalidRequest | Errors.Conflict | Errors.DatabaseUnavailable>
  list(): Effect.Effect<ReadonlyArray<WorkspaceRecord>, Errors.DatabaseUnavailable>
  findByName(name: Names.WorkspaceName): Effect.Effect<Option.Option<WorkspaceRecord>, Errors.DatabaseUnavailable>
  /** NotFound when the workspace does not exist. */
  update(
    name: Names.WorkspaceName,
    patch: WorkspacePatch
  ): Effect.Effect<WorkspaceRecord, Errors.InvalidRequest | Errors.NotFound | Errors.DatabaseUnavailable>
}>()("@idgen/server/storage/WorkspaceRepo") {}
