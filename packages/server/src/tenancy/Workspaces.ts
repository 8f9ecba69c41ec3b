/**
 * Workspaces, the tenants: what an operator may create and change, with the defaults of
 * a new workspace and the rules its defaults must satisfy. Storage is `WorkspaceRepo`.
 */
import { Errors, type Names } from "@idgen/core"
import { Context, Effect, Layer, Result } from "effect"
import type { RateLimit, WorkspaceRecord } from "../storage/Records.ts"
import { type WorkspacePatch, WorkspaceRepo } from "../storage/WorkspaceRepo.ts"
import { invalidField } from "./InvalidField.ts"

/** A new workspace; absent settings take the defaults (segment, no fallback, auto-create on). */
export interface NewWorkspace {
  readonly name: Names.WorkspaceName
  readonly defaultAlgorithm?: Names.Algorithm | undefined
  readonly autoCreateBizTags?: boolean | undefined
  readonly maxAutoBizTags?: number | undefined
  readonly defaultFallback?: ReadonlyArray<Names.Algorithm> | undefined
  readonly rateLimit: RateLimit | null
}

/**
 * A workspace's defaults (of the biz_tags it auto-creates): its algorithm and fallback chain.
 * `given` is the algorithm the request sets, if any: formatted is refused only then, so a
 * workspace that got it before this rule can still have its other settings changed.
 */
const validateDefaults = (
  algorithm: Names.Algorithm,
  fallback: ReadonlyArray<Names.Algorithm>,
  given: Names.Algorithm | undefined
): Result.Result<void, Errors.InvalidRequest> => {
  if (given === "formatted") {
    return Result.fail(invalidField(
      "default_algorithm",
      "must not be formatted (an auto-created biz_tag has no template; create formatted biz_tags through the operator API)"
    ))
  }
  if (fallback.includes("formatted")) {
    return Result.fail(invalidField("default_fallback", "must not contain formatted (auto-created biz_tags have no template)"))
  }
  if (fallback.includes(algorithm)) {
    return Result.fail(invalidField("default_fallback", `must not contain the default algorithm ${algorithm}`))
  }
  if (new Set(fallback).size !== fallback.length) {
    return Result.fail(invalidField("default_fallback", "must not repeat an algorithm"))
  }
  return Result.succeed(undefined)
}

export class Workspaces extends Context.Service<Workspaces, {
  /** InvalidRequest when its defaults break the rules. */
  create(
    input: NewWorkspace
  ): Effect.Effect<WorkspaceRecord, Errors.InvalidRequest | Errors.Conflict | Errors.DatabaseUnavailable>
  list(): Effect.Effect<ReadonlyArray<WorkspaceRecord>, Errors.DatabaseUnavailable>
  /** NotFound when there is no such workspace. */
  get(name: Names.WorkspaceName): Effect.Effect<WorkspaceRecord, Errors.NotFound | Errors.DatabaseUnavailable>
  /** NotFound first, then InvalidRequest when the patched defaults break the rules. */
  update(
    name: Names.WorkspaceName,
    patch: WorkspacePatch
  ): Effect.Effect<WorkspaceRecord, Errors.NotFound | Errors.InvalidRequest | Errors.DatabaseUnavailable>
}>()("@idgen/server/tenancy/Workspaces") {
  static readonly layer: Layer.Layer<Workspaces, never, WorkspaceRepo> = Layer.effect(
    Workspaces,
    Effect.gen(function*() {
      const repo = yield* WorkspaceRepo

      const get = Effect.fn("Workspaces.get")(function*(name: Names.WorkspaceName) {
        const found = yield* repo.findByName(name)
        if (found._tag === "Some") return found.value
        return yield* new Errors.NotFound({ message: `Workspace ${name} does not exist`, details: { workspace: name } })
      })

      const update = Effect.fn("Workspaces.update")(function*(name: Names.WorkspaceName, patch: WorkspacePatch) {
        const current = yield* get(name)
        yield* Effect.fromResult(validateDefaults(
          patch.defaultAlgorithm ?? current.defaultAlgorithm,
          patch.defaultFallback ?? current.defaultFallback,
          patch.defaultAlgorithm
        ))
        return yield* repo.update(name, patch)
      })

      const create = Effect.fn("Workspaces.create")(function*(input: NewWorkspace) {
        const defaultAlgorithm = input.defaultAlgorithm ?? "segment"
        const defaultFallback = input.defaultFallback ?? []
        yield* Effect.fromResult(validateDefaults(defaultAlgorithm, defaultFallback, input.defaultAlgorithm))
        return yield* repo.create({
          name: input.name,
          defaultAlgorithm,
          autoCreateBizTags: input.autoCreateBizTags ?? true,
          maxAutoBizTags: input.maxAutoBizTags,
          defaultFallback,
          rateLimit: input.rateLimit
        })
      })

      return Workspaces.of({
        create,
        list: () => repo.list(),
        get,
        update
      })
    })
  )
}
