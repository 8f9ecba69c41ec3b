/**
 * biz_tags as an operator manages them: the rules their settings must satisfy as a whole
 * (fallback chains, format templates), the default step, and the invalidation of every
 * node's cached copy after a change. Anything that changes a biz_tag goes through here, so
 * no caller can forget the invalidation. Storage is `BizTagRepo`; first-use creation is
 * `TagResolver`'s.
 */
import { Errors, type Names } from "@idgen/core"
import * as Template from "@idgen/core/formatted/Template"
import { Context, Effect, Layer, Result } from "effect"
import { currentConfig, type LiveConfig } from "../config/HotReload.ts"
import { ServerConfig } from "../config/ServerConfig.ts"
import { TagResolver } from "../generate/TagResolver.ts"
import { type BizTagPatch, BizTagRepo, type BizTagSettings } from "../storage/BizTagRepo.ts"
import type { BizTagRecord } from "../storage/Records.ts"
import { SegmentRepo } from "../storage/SegmentRepo.ts"
import { invalidField } from "./InvalidField.ts"
import { Workspaces } from "./Workspaces.ts"

/** A new biz_tag; absent settings: no fallback, the configured `segment.default_step`, no template. */
export interface NewBizTag {
  readonly algorithm: Names.Algorithm
  readonly fallback?: ReadonlyArray<Names.Algorithm> | undefined
  readonly step?: number | undefined
  readonly formatTemplate?: string | null | undefined
}

/** A biz_tag with the numbers left in this datacenter's current range (null: it issues none). */
export interface BizTagWithCapacity {
  readonly record: BizTagRecord
  readonly remaining: number | null
}

/** Algorithms whose IDs come from the biz_tag's segment counter. */
const usesSegments = (algorithm: Names.Algorithm) => algorithm === "segment" || algorithm === "formatted"

/**
 * A step the request gives: above `segment.max_step` it would be stored and echoed but never
 * applied (every allocation is capped there), so it is refused, naming the maximum.
 */
const validateStep = (step: number | undefined, maxStep: number): Result.Result<void, Errors.InvalidRequest> =>
  step !== undefined && step > maxStep
    ? Result.fail(invalidField("step", `must be at most ${maxStep} (segment.max_step, the largest step allocations use)`, {
      max_step: maxStep
    }))
    : Result.succeed(undefined)

/** The rules a biz_tag's settings must satisfy as a whole (create, and after a patch). */
const validateSettings = (settings: BizTagSettings): Result.Result<BizTagSettings, Errors.InvalidRequest> => {
  const { algorithm, fallback, formatTemplate } = settings
  if (fallback.includes(algorithm)) {
    return Result.fail(invalidField("fallback", `must not contain the primary algorithm ${algorithm}`))
  }
  if (new Set(fallback).size !== fallback.length) {
    return Result.fail(invalidField("fallback", "must not repeat an algorithm"))
  }
  const needsTemplate = algorithm === "formatted" || fallback.includes("formatted")
  if (formatTemplate === null) {
    return needsTemplate
      ? Result.fail(invalidField("format_template", "is required for the formatted algorithm"))
      : Result.succeed(settings)
  }
  const compiled = Template.compile(formatTemplate)
  if (Result.isFailure(compiled)) {
    return Result.fail(invalidField("format_template", compiled.failure.message, { template: formatTemplate }))
  }
  const decimal = [algorithm, ...fallback].find((a) => a === "segment" || a === "snowflake")
  if (needsTemplate && decimal !== undefined && Template.rendersOnlyDigits(compiled.success)) {
    return Result.fail(invalidField(
      "format_template",
      `format template ${JSON.stringify(formatTemplate)} renders plain numbers, which could equal the ${decimal} IDs ` +
        `of the same biz_tag; give it a non-digit literal (e.g. a prefix) or take ${decimal} out of the chain`,
      { template: formatTemplate }
    ))
  }
  return Result.succeed(settings)
}

export class BizTags extends Context.Service<BizTags, {
  /** A deleted biz_tag comes back as a new incarnation, numbered above the old one; every node drops its copy. */
  create(
    key: Names.SequenceKey,
    input: NewBizTag
  ): Effect.Effect<BizTagRecord, Errors.InvalidRequest | Errors.Conflict | Errors.NotFound | Errors.DatabaseUnavailable>
  /** NotFound when the workspace does not exist. */
  list(
    workspace: Names.WorkspaceName
  ): Effect.Effect<ReadonlyArray<BizTagWithCapacity>, Errors.NotFound | Errors.DatabaseUnavailable>
  /** NotFound first, then InvalidRequest when the patched settings break the rules; every node drops its copy. */
  update(
    key: Names.SequenceKey,
    patch: BizTagPatch
  ): Effect.Effect<BizTagRecord, Errors.InvalidRequest | Errors.Conflict | Errors.NotFound | Errors.DatabaseUnavailable>
  /** Every node stops answering for it. */
  remove(key: Names.SequenceKey): Effect.Effect<void, Errors.NotFound | Errors.DatabaseUnavailable>
}>()("@idgen/server/tenancy/BizTags") {
  static readonly layer: Layer.Layer<
    BizTags,
    never,
    BizTagRepo | SegmentRepo | Workspaces | TagResolver | ServerConfig | LiveConfig
  > = Layer.effect(
    BizTags,
    Effect.gen(function*() {
      const repo = yield* BizTagRepo
      const segments = yield* SegmentRepo
      const workspaces = yield* Workspaces
      const resolver = yield* TagResolver
      const { datacenterId } = (yield* ServerConfig).node
      const config = yield* currentConfig

      const create = Effect.fn("BizTags.create")(function*(key: Names.SequenceKey, input: NewBizTag) {
        yield* Effect.fromResult(validateStep(input.step, config().segment.maxStep))
        const settings = yield* Effect.fromResult(validateSettings({
          algorithm: input.algorithm,
          fallback: input.fallback ?? [],
          step: input.step ?? config().segment.defaultStep,
          formatTemplate: input.formatTemplate ?? null
        }))
        const created = yield* repo.create(key, settings)
        // A deleted biz_tag created again is a new incarnation (a new id): every node drops
        // its copy, and with it what it kept for the old one (`RetiredIncarnations`).
        yield* resolver.changed(key)
        return created
      })

      const withCapacity = (record: BizTagRecord): Effect.Effect<BizTagWithCapacity, Errors.DatabaseUnavailable> =>
        usesSegments(record.algorithm)
          ? Effect.map(segments.remaining(record.id, datacenterId), (remaining) => ({ record, remaining }))
          : Effect.succeed({ record, remaining: null })

      const list = Effect.fn("BizTags.list")(function*(workspace: Names.WorkspaceName) {
        yield* workspaces.get(workspace)
        const all = yield* repo.list(workspace)
        return yield* Effect.forEach(all, withCapacity, { concurrency: 4 })
      })

      const update = Effect.fn("BizTags.update")(function*(key: Names.SequenceKey, patch: BizTagPatch) {
        const found = yield* repo.find(key)
        if (found._tag === "None") {
          return yield* new Errors.NotFound({
            message: `Biz tag ${key.group}/${key.bizTag} does not exist in workspace ${key.workspace}`,
            details: { workspace: key.workspace, group: key.group, biz_tag: key.bizTag }
          })
        }
        const current = found.value
        yield* Effect.fromResult(validateStep(patch.step, config().segment.maxStep))
        yield* Effect.fromResult(validateSettings({
          algorithm: patch.algorithm ?? current.algorithm,
          fallback: patch.fallback ?? current.fallback,
          step: patch.step ?? current.step,
          formatTemplate: patch.formatTemplate === undefined ? current.formatTemplate : patch.formatTemplate
        }))
        const updated = yield* repo.update(key, patch)
        // Every node drops its cached copy (TagResolver: within 2 s).
        yield* resolver.changed(key)
        return updated
      })

      const remove = Effect.fn("BizTags.remove")(function*(key: Names.SequenceKey) {
        yield* repo.remove(key)
        // Every node stops answering for it (TagResolver: within 2 s).
        yield* resolver.changed(key)
      })

      return BizTags.of({ create, list, update, remove })
    })
  )
}
