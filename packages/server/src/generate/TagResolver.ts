/**
 * Finds the biz_tag behind a request, creating it on first use when its workspace
 * allows (the design's auto-initialisation). Lookups are cached briefly so the hot
 * path does not touch the database; an operator's change is seen within the TTL.
 */
import { Errors, Names } from "@idgen/core"
import { Clock, Context, Effect, Layer, Option } from "effect"
import { currentConfig } from "../config/HotReload.ts"
import { BizTagRepo } from "../storage/BizTagRepo.ts"
import type { BizTagRecord } from "../storage/Records.ts"
import { WorkspaceRepo } from "../storage/WorkspaceRepo.ts"

const cacheTtlMillis = 5_000

export class TagResolver extends Context.Service<TagResolver, {
  resolve(key: Names.SequenceKey): Effect.Effect<BizTagRecord, Errors.NotFound | Errors.InvalidRequest | Errors.DatabaseUnavailable>
  /** Drops a cached biz_tag after an operator changed it on this node. */
  invalidate(key: Names.SequenceKey): void
}>()("@idgen/server/generate/TagResolver") {
  static readonly layer = Layer.effect(
    TagResolver,
    Effect.gen(function*() {
      const config = yield* currentConfig
      const tags = yield* BizTagRepo
      const workspaces = yield* WorkspaceRepo
      const clock = yield* Clock.Clock
      const cache = new Map<string, { readonly tag: BizTagRecord; readonly expiresAt: number }>()

      const autoCreate = Effect.fnUntraced(function*(key: Names.SequenceKey) {
        const workspace = yield* workspaces.findByName(key.workspace)
        if (Option.isNone(workspace)) {
          return yield* new Errors.NotFound({
            message: `workspace ${key.workspace} does not exist`,
            details: { workspace: key.workspace }
          })
        }
        if (!workspace.value.autoCreateBizTags) {
          return yield* new Errors.NotFound({
            message: `biz_tag ${Names.keyString(key)} does not exist and workspace ${key.workspace} does not auto-create biz_tags`,
            details: { workspace: key.workspace, group: key.group, biz_tag: key.bizTag }
          })
        }
        if (workspace.value.defaultAlgorithm === "formatted") {
          return yield* new Errors.InvalidRequest({
            message: `biz_tag ${Names.keyString(key)} does not exist; formatted biz_tags need a template and must be created through the operator API`,
            details: { workspace: key.workspace, group: key.group, biz_tag: key.bizTag }
          })
        }
        return yield* tags.ensure(key, {
          algorithm: workspace.value.defaultAlgorithm,
          fallback: [],
          step: config().segment.defaultStep,
          formatTemplate: null
        })
      })

      const load = Effect.fn("TagResolver.load")(function*(key: Names.SequenceKey, id: string) {
        const found = yield* tags.find(key)
        const tag = Option.isSome(found) ? found.value : yield* autoCreate(key)
        cache.set(id, { tag, expiresAt: clock.currentTimeMillisUnsafe() + cacheTtlMillis })
        return tag
      })

      const resolve = (key: Names.SequenceKey) => {
        const id = Names.keyString(key)
        const hit = cache.get(id)
        if (hit === undefined) return load(key, id)
        if (hit.expiresAt > clock.currentTimeMillisUnsafe()) return Effect.succeed(hit.tag)
        // Database down: keep serving the biz_tag as last seen rather than refusing every
        // request (its generators may well have numbers buffered or need no database).
        return load(key, id).pipe(Effect.catchTag("DatabaseUnavailable", () => Effect.succeed(hit.tag)))
      }

      return TagResolver.of({ resolve, invalidate: (key) => void cache.delete(Names.keyString(key)) })
    })
  )
}
