/**
 * Shared fixtures of the storage tests: a fresh migrated PostgreSQL database with every
 * repository on it, and helpers that create tenancy rows.
 */
import { Errors, type Names } from "@idgen/core"
import { Effect, Layer, Redacted } from "effect"
import { BizTagRepo } from "@idgen/server/storage/BizTagRepo"
import * as Storage from "@idgen/server/storage/index"
import { WorkspaceRepo } from "@idgen/server/storage/WorkspaceRepo"
import { TestDatabase } from "../support/TestDatabase.ts"

export const RANGE_SIZE = 10_000_000_000

/** A fresh database (also provided as `TestDatabase`) with the storage layer on it. */
export const storageOnFreshDatabase = (options: { readonly rangeSize?: number; readonly maxConnections?: number } = {}) =>
  Layer.unwrap(
    Effect.gen(function*() {
      const { url } = yield* TestDatabase
      return Storage.layerWith({
        url: Redacted.make(url),
        dataDir: "",
        maxConnections: options.maxConnections ?? 8,
        rangeSize: options.rangeSize ?? RANGE_SIZE
      })
    })
  ).pipe(Layer.provideMerge(TestDatabase.layer))

export const ws = (name: string) => name as Names.WorkspaceName

export const key = (workspace: string, group: string, bizTag: string): Names.SequenceKey => ({
  workspace: workspace as Names.WorkspaceName,
  group: group as Names.GroupName,
  bizTag: bizTag as Names.BizTagName
})

export const segmentSettings = { algorithm: "segment", fallback: [], step: 1000, formatTemplate: null } as const

/** Creates the workspace (if missing) and the biz_tag; returns the biz_tag's id. */
export const bizTag = Effect.fnUntraced(function*(workspace: string, group: string, name: string) {
  const workspaces = yield* WorkspaceRepo
  yield* workspaces.create({ name: ws(workspace), defaultAlgorithm: "segment", autoCreateBizTags: true, rateLimit: null })
    .pipe(Effect.catchIf((e) => e instanceof Errors.Conflict, () => Effect.void))
  const tags = yield* BizTagRepo
  const tag = yield* tags.ensure(key(workspace, group, name), segmentSettings)
  return tag.id
})
