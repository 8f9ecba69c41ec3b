/**
 * Frees what this node keeps for a biz_tag incarnation that is gone as soon as the node
 * learns of the change (`TagResolver.watch`: its own operator call, Redis, the database
 * poll) — a segment or formatted biz_tag deleted, or deleted and created again under a new
 * row id (`SqlBizTagRepo`): its segment actor is released (buffers, L1 ring) and its Redis pool
 * forgotten (`SegmentGenerator.retire`), rather than left to the idle release.
 *
 * One lookup per change of a biz_tag this node runs an actor for. When it fails (database
 * down) the idle release still frees the actor; it is never served for a new incarnation
 * meanwhile, since actors are keyed by the row id.
 */
import type { Names } from "@idgen/core"
import { Effect, FiberSet, Layer, Option } from "effect"
import { SegmentGenerator } from "../segment/SegmentGenerator.ts"
import { BizTagRepo } from "../storage/BizTagRepo.ts"
import { TagResolver } from "./TagResolver.ts"

export const layer: Layer.Layer<never, never, TagResolver | SegmentGenerator | BizTagRepo> = Layer.effectDiscard(
  Effect.gen(function*() {
    const resolver = yield* TagResolver
    const segments = yield* SegmentGenerator
    const tags = yield* BizTagRepo
    const fork = yield* FiberSet.makeRuntime<never, void, never>()

    const retireGone = (key: Names.SequenceKey) =>
      tags.find(key).pipe(
        Effect.flatMap((live) => segments.retire(key, Option.getOrUndefined(Option.map(live, (tag) => tag.id)))),
        Effect.catch((error) => Effect.logDebug("biz_tag incarnation check skipped", String(error))),
        Effect.withTracerEnabled(false)
      )

    yield* resolver.watch((key) => {
      if (segments.serves(key)) fork(retireGone(key))
    })
  })
)
