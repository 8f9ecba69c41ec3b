/**
 * UUID v7 (monotonic per node) and v4, drawing randomness from the platform CSPRNG.
 */
import { UuidV4, UuidV7 } from "@idgen/core"
import { Clock, Context, Effect, Layer } from "effect"
import { getRandomValues } from "node:crypto"

export class UuidGenerator extends Context.Service<UuidGenerator, {
  readonly v7: (n: number) => Array<string>
  readonly v4: (n: number) => Array<string>
}>()("@idgen/server/uuid/UuidGenerator") {
  static readonly layer = Layer.effect(
    UuidGenerator,
    Effect.gen(function*() {
      const clock = yield* Clock.Clock
      const random = (bytes: Uint8Array) => void getRandomValues(bytes)
      const v7 = UuidV7.make(random)
      const v4 = UuidV4.make(random)
      const many = (n: number, next: () => string) => {
        const out: Array<string> = []
        for (let i = 0; i < n; i++) out.push(next())
        return out
      }
      return UuidGenerator.of({
        v7: (n) => many(n, () => v7.next(clock.currentTimeMillisUnsafe())),
        v4: (n) => many(n, () => v4.next())
      })
    })
  )
}
