/**
 * Formatted IDs: a biz_tag's template rendered over its segment counter, so every
 * rendered value carries a number that is never issued twice (and the rendering tells
 * counter values apart, see `Template`). A template with `{WORKER}` needs the worker id
 * held: without one the generator is unavailable (IDGEN-SNOW-2003) and the biz_tag's
 * fallback chain serves, rather than render a worker id this node does not hold.
 */
import { type Errors, Template } from "@idgen/core"
import { Clock, Context, Effect, Layer } from "effect"
import { type LoadError } from "../segment/SegmentActor.ts"
import { SegmentGenerator } from "../segment/SegmentGenerator.ts"
import type { BizTagRecord } from "../storage/Records.ts"
import { WorkerIdentity } from "../snowflake/WorkerIdentity.ts"

export class FormattedGenerator extends Context.Service<FormattedGenerator, {
  next(
    tag: BizTagRecord,
    n: number
  ): Effect.Effect<Array<string>, LoadError | Errors.InvalidRequest | Errors.NoAvailableWorkerId>
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
        // Checked before taking numbers, so none is spent on a refusal.
        const worker = template.usesWorker ? identity.current() : 0
        if (typeof worker !== "number") return yield* worker
        const actor = yield* segments.actorFor(tag)
        const seqs = yield* actor.take(n)
        const context = { nowMs: clock.currentTimeMillisUnsafe(), datacenterId: identity.datacenterId, workerId: worker }
        return seqs.map((seq) => Template.render(template, { ...context, seq }))
      })

      return FormattedGenerator.of({ next })
    })
  )
}
