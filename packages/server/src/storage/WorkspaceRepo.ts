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
  readonly rateLimit: RateLimit | null
}

export class WorkspaceRepo extends Context.Service<WorkspaceRepo, {
  create(input: CreateWorkspace): Effect.Effect<WorkspaceRecord, Errors.Conflict | Errors.DatabaseUnavailable>
  list(): Effect.Effect<ReadonlyArray<WorkspaceRecord>, Errors.DatabaseUnavailable>
  findByName(name: Names.WorkspaceName): Effect.Effect<Option.Option<WorkspaceRecord>, Errors.DatabaseUnavailable>
}>()("@idgen/server/storage/WorkspaceRepo") {}
