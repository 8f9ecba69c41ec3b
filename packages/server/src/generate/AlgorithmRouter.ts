/**
 * Picks the generator for an algorithm and issues `n` IDs with it.
 */
import { DecimalText, type Errors, Immediate, type Names } from "@idgen/core"
import { Context, Effect, Layer } from "effect"
import { FormattedGenerator } from "../formatted/FormattedGenerator.ts"
import { SegmentGenerator } from "../segment/SegmentGenerator.ts"
import { SnowflakeGenerator } from "../snowflake/SnowflakeGenerator.ts"
import type { BizTagRecord } from "../storage/Records.ts"
import { UuidGenerator } from "../uuid/UuidGenerator.ts"

export class AlgorithmRouter extends Context.Service<AlgorithmRouter, {
  issue(tag: BizTagRecord, algorithm: Names.Algorithm, n: number): Effect.Effect<ReadonlyArray<string>, Errors.IdgenError>
  /**
   * `issue`, taken at the call: the IDs when the generator has them at hand (a running
   * segment actor with numbers buffered, snowflake sequence space), else the Effect.
   */
  issueUnsafe(tag: BizTagRecord, algorithm: Names.Algorithm, n: number): Immediate.Immediate<ReadonlyArray<string>, Errors.IdgenError>
  /**
   * `n` segment IDs already buffered on this node, without waiting or touching storage;
   * undefined when fewer are buffered. Lets a degraded segment biz_tag spend its buffer.
   */
  takeBuffered(tag: BizTagRecord, n: number): ReadonlyArray<string> | undefined
}>()("@idgen/server/generate/AlgorithmRouter") {
  static readonly layer = Layer.effect(
    AlgorithmRouter,
    Effect.gen(function*() {
      const segments = yield* SegmentGenerator
      const snowflake = yield* SnowflakeGenerator
      const uuid = yield* UuidGenerator
      const formatted = yield* FormattedGenerator

      const segment = (tag: BizTagRecord, n: number): Immediate.Immediate<ReadonlyArray<string>, Errors.IdgenError> => {
        // Fast path: a running actor with numbers buffered answers synchronously.
        const actor = segments.runningActor(tag)
        if (actor !== undefined && n === 1) {
          const value = actor.takeOneNow()
          if (value >= 0) return [DecimalText.toDecimal(value)]
        }
        return Effect.flatMap(actor ? Effect.succeed(actor) : segments.actorFor(tag), (a) =>
          Effect.map(a.take(n), (values) => values.map(DecimalText.toDecimal)))
      }

      const issueUnsafe = (
        tag: BizTagRecord,
        algorithm: Names.Algorithm,
        n: number
      ): Immediate.Immediate<ReadonlyArray<string>, Errors.IdgenError> => {
        switch (algorithm) {
          case "segment":
            return segment(tag, n)
          case "snowflake":
            return snowflake.nextUnsafe(n)
          case "uuid_v7":
            return Effect.sync(() => uuid.v7(n))
          case "uuid_v4":
            return Effect.sync(() => uuid.v4(n))
          case "formatted":
            return formatted.next(tag, n)
        }
      }

      const takeBuffered = (tag: BizTagRecord, n: number) => {
        const actor = segments.runningActor(tag)
        if (actor === undefined || actor.buffered() < n) return undefined
        const out: Array<number> = []
        actor.takeNow(n, out)
        return out.length === n ? out.map(DecimalText.toDecimal) : undefined
      }

      return AlgorithmRouter.of({ issue: Immediate.lazy(issueUnsafe), issueUnsafe, takeBuffered })
    })
  )
}
