/**
 * IdService: resolve the biz_tag, issue with its algorithm, and walk its fallback
 * chain when a generator is unavailable (database down, clock stepped back, no
 * worker id). Errors about the request itself are never retried elsewhere.
 */
import { Errors, IdParse, type Names } from "@idgen/core"
import { Clock, Effect, Layer, Option } from "effect"
import { ServerConfig } from "../config/ServerConfig.ts"
import { BizTagRepo } from "../storage/BizTagRepo.ts"
import type { BizTagRecord } from "../storage/Records.ts"
import { AlgorithmRouter } from "./AlgorithmRouter.ts"
import { IdService, type ParseInput } from "./IdService.ts"
import { TagResolver } from "./TagResolver.ts"

/** Failures that say "this generator cannot issue now", where another algorithm may. */
const generatorUnavailable = new Set<Errors.IdgenError["_tag"]>([
  "DatabaseUnavailable",
  "SegmentAllocateFailed",
  "SegmentExhausted",
  "ClockBackward",
  "SequenceOverflow",
  "NoAvailableWorkerId",
  "UuidGenerateFailed"
])

export const IdServiceLive = Layer.effect(
  IdService,
  Effect.gen(function*() {
    const config = yield* ServerConfig
    const resolver = yield* TagResolver
    const router = yield* AlgorithmRouter
    const tags = yield* BizTagRepo
    const clock = yield* Clock.Clock

    const issueWithFallback = (
      tag: BizTagRecord,
      chain: ReadonlyArray<Names.Algorithm>,
      n: number
    ): Effect.Effect<{ ids: ReadonlyArray<string>; algorithm: Names.Algorithm }, Errors.IdgenError> => {
      const [algorithm, ...rest] = chain
      const issued = Effect.map(router.issue(tag, algorithm!, n), (ids) => ({ ids, algorithm: algorithm! }))
      // Most biz_tags have no fallback: skip building the handler on the hot path.
      return rest.length === 0 ? issued : issued.pipe(
        Effect.catchIf(
          (error) => generatorUnavailable.has(error._tag),
          () => issueWithFallback(tag, rest, n)
        )
      )
    }

    const generate = (key: Names.SequenceKey, count: number) =>
      resolver.resolve(key).pipe(
        Effect.flatMap((tag) => issueWithFallback(tag, [tag.algorithm, ...tag.fallback], count)),
        Effect.map(({ algorithm, ids }) => ({ ids, algorithm, timestampMs: clock.currentTimeMillisUnsafe() }))
      )

    const algorithmOf = Effect.fnUntraced(function*(key: Names.SequenceKey) {
      const tag = yield* tags.find(key)
      if (Option.isNone(tag)) {
        return yield* new Errors.NotFound({
          message: `biz_tag ${key.workspace}/${key.group}/${key.bizTag} does not exist`,
          details: { workspace: key.workspace, group: key.group, biz_tag: key.bizTag }
        })
      }
      return tag.value.algorithm
    })

    const parse = Effect.fn("IdService.parse")(function*(input: ParseInput) {
      const context = { epochMs: config.snowflake.epochMs, rangeSize: config.segment.rangeSize }
      const withAlgorithm = input.key ? { ...context, algorithm: yield* algorithmOf(input.key) } : context
      return yield* Effect.fromResult(IdParse.parseId(input.id, withAlgorithm))
    })

    return IdService.of({ generate, parse })
  })
)
