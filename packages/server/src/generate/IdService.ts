/**
 * The one entry point every interface (HTTP, gRPC, RPC) uses to issue and parse IDs: it
 * resolves the biz_tag (auto-creating it when the workspace allows), issues with its
 * algorithm, and walks its fallback chain when a generator is unavailable (database down,
 * clock stepped back, no worker id: the error's `fallsBack` trait). Errors about the
 * request itself are never retried elsewhere. Which algorithms are tried, and in which
 * order, is the degradation manager's call (`DegradationManager.plan`); every outcome is
 * reported back to it.
 */
import { DegradationFsm, Errors, IdParse, Immediate, type Names } from "@idgen/core"
import { Clock, Context, Effect, Layer, Option } from "effect"
import { ServerConfig } from "../config/ServerConfig.ts"
import { DegradationManager } from "../degradation/DegradationManager.ts"
import { BizTagRepo } from "../storage/BizTagRepo.ts"
import type { BizTagRecord } from "../storage/Records.ts"
import { AlgorithmRouter } from "./AlgorithmRouter.ts"
import { TagResolver } from "./TagResolver.ts"

export interface GenerateResult {
  /** In increasing order for segment, snowflake and uuid_v7. */
  readonly ids: ReadonlyArray<string>
  /** The algorithm that actually produced the IDs, after any fallback. */
  readonly algorithm: Names.Algorithm
  /** When the IDs were issued (Unix ms). */
  readonly timestampMs: number
}

export interface ParseInput {
  readonly id: string
  /** Needed to decode segment and formatted IDs. */
  readonly key?: Names.SequenceKey | undefined
}

/** The contract's parse response body, JSON-ready (snake_case keys). */
export type ParsedId = { readonly id: string; readonly algorithm: Names.Algorithm } & Record<string, unknown>

export class IdService extends Context.Service<IdService, {
  generate(key: Names.SequenceKey, count: number): Effect.Effect<GenerateResult, Errors.IdgenError>
  /**
   * `generate`, taken at the call: when the biz_tag is cached and its generator has the
   * IDs at hand, the result (or the error) now, which a hot path answers without running a
   * fiber; else the Effect that waits for them, to be run once.
   */
  generateUnsafe(key: Names.SequenceKey, count: number): Immediate.Immediate<GenerateResult, Errors.IdgenError>
  parse(input: ParseInput): Effect.Effect<ParsedId, Errors.IdgenError>
}>()("@idgen/server/generate/IdService") {
  static readonly layer: Layer.Layer<
    IdService,
    never,
    ServerConfig | TagResolver | AlgorithmRouter | BizTagRepo | DegradationManager
  > = Layer.effect(IdService, Effect.suspend(() => make))
}

/** One-element chains, shared: most biz_tags have no fallback (no array per request). */
const single = Object.fromEntries(
  DegradationFsm.algorithms.map((a) => [a, [a] as ReadonlyArray<Names.Algorithm>])
) as Record<Names.Algorithm, ReadonlyArray<Names.Algorithm>>

/** Every algorithm of the chain held down by an operator. */
const heldDown = (chain: ReadonlyArray<Names.Algorithm>) =>
  new Errors.ServiceUnavailable({
    message: `Every algorithm of this biz_tag (${chain.join(", ")}) is degraded by an operator`,
    details: { algorithms: chain }
  })

const make = Effect.gen(function*() {
  const config = yield* ServerConfig
  const resolver = yield* TagResolver
  const router = yield* AlgorithmRouter
  const tags = yield* BizTagRepo
  const clock = yield* Clock.Clock
  const degradation = yield* DegradationManager

  type Issued = Immediate.Immediate<GenerateResult, Errors.IdgenError>

  const resultOf = (ids: ReadonlyArray<string>, algorithm: Names.Algorithm): GenerateResult => ({
    ids,
    algorithm,
    timestampMs: clock.currentTimeMillisUnsafe()
  })

  /** Tries `plan[i]`, then the rest of the plan while the failure is the generator's. */
  const attempt = (tag: BizTagRecord, plan: ReadonlyArray<Names.Algorithm>, i: number, n: number): Issued => {
    const algorithm = plan[i]!
    const succeeded = (ids: ReadonlyArray<string>) => {
      degradation.succeeded(algorithm)
      return resultOf(ids, algorithm)
    }
    const failed = (error: Errors.IdgenError): Issued => {
      if (!Errors.traitsOf(error).fallsBack) return error
      degradation.failed(algorithm, error)
      return i + 1 < plan.length ? attempt(tag, plan, i + 1, n) : error
    }
    const issued = router.issueUnsafe(tag, algorithm, n)
    if (Immediate.isError(issued)) return failed(issued)
    if (Immediate.isPending(issued)) {
      return Effect.matchEffect(issued, {
        onSuccess: (ids) => Effect.succeed(succeeded(ids)),
        onFailure: (error) => Immediate.toEffect(failed(error))
      })
    }
    // At hand (a buffered segment take, free snowflake sequence): no fiber steps.
    return succeeded(issued as ReadonlyArray<string>)
  }

  /**
   * The biz_tag's chain in the order the degradation manager allows. A segment primary
   * that is out of the plan still spends the numbers this node has buffered first: they
   * need no database round trip, so a database outage is invisible until they run out.
   * Not when an operator took segment out: then it is out.
   */
  const issueWithFallback = (tag: BizTagRecord, n: number): Issued => {
    const chain = tag.fallback.length === 0 ? single[tag.algorithm] : [tag.algorithm, ...tag.fallback]
    const plan = degradation.plan(chain)
    if (plan[0] !== chain[0] && chain[0] === "segment" && !degradation.snapshot().health.segment.manual) {
      const ids = router.takeBuffered(tag, n)
      if (ids !== undefined) return resultOf(ids, "segment")
    }
    if (plan.length === 0) return heldDown(chain)
    return attempt(tag, plan, 0, n)
  }

  /** A cached biz_tag whose generator has the IDs at hand answers now (see `IdService`). */
  const generateUnsafe = (key: Names.SequenceKey, count: number): Issued =>
    Immediate.flatMap(resolver.resolveUnsafe(key), (tag) => issueWithFallback(tag, count))

  /** What parsing needs of a biz_tag: its chain and template. */
  const parseContextOf = Effect.fnUntraced(function*(key: Names.SequenceKey) {
    const tag = yield* tags.find(key)
    if (Option.isNone(tag)) {
      return yield* new Errors.NotFound({
        message: `biz_tag ${key.workspace}/${key.group}/${key.bizTag} does not exist`,
        details: { workspace: key.workspace, group: key.group, biz_tag: key.bizTag }
      })
    }
    const { algorithm, fallback, formatTemplate } = tag.value
    return { algorithm, fallback, formatTemplate }
  })

  const parse = Effect.fn("IdService.parse")(function*(input: ParseInput) {
    const context = { epochMs: config.snowflake.epochMs, rangeSize: config.segment.rangeSize }
    const withTag = input.key ? { ...context, ...(yield* parseContextOf(input.key)) } : context
    return yield* Effect.fromResult(IdParse.parseId(input.id, withTag))
  })

  return IdService.of({ generate: Immediate.lazy(generateUnsafe), generateUnsafe, parse })
})
