/**
 * Formatted IDs: a biz_tag's template rendered over its segment counter, so every
 * rendered value carries a number that is never issued twice.
 */
import { type Errors, Template } from "@idgen/core"
import { Clock, Context, Effect, Layer } from "effect"
import { type LoadError } from "../segment/SegmentActor.ts"
import { SegmentGenerator } from "../segment/SegmentGenerator.ts"
import type { BizTagRecord } from "../storage/Records.ts"
import { WorkerIdentity } from "../snowflake/WorkerIdentity.ts"

export class FormattedGenerator extends Context.Service<FormattedGenerator, {
  next(tag: BizTagRecord, n: number): Effect.Effect<Array<string>, LoadError | Errors.InvalidRequest>
}>()("@idgen/server/formatted/FormattedGenerator") {
  static readonly layer = Layer.effect(
    FormattedGenerator,
    Effect.gen(function*() {
      const segments = yield* SegmentGenerator
      const identity = yield* WorkerIdentity
      const clock = yield* Clock.Clock
      const compiled = new Map<string, Template.CompiledTemplate>()

      const templateOf = (template: string) => {
        const hit = compiled.get(template)
        if (hit) return Effect.succeed(hit)
        return Effect.fromResult(Template.compile(template)).pipe(
          Effect.tap((t) => Effect.sync(() => compiled.set(template, t)))
        )
      }

      const next = Effect.fnUntraced(function*(tag: BizTagRecord, n: number) {
        const template = yield* templateOf(tag.formatTemplate ?? "")
        const actor = yield* segments.actorFor(tag)
        const seqs = yield* actor.take(n)
        const nowMs = clock.currentTimeMillisUnsafe()
        const worker = identity.current()
        const context = { nowMs, datacenterId: identity.datacenterId, workerId: typeof worker === "number" ? worker : 0 }
        return seqs.map((seq) => Template.render(template, { ...context, seq }))
      })

      return FormattedGenerator.of({ next })
    })
  )
}
