/**
 * The stall log of `observability/EventLoopDelay.ts`: a stall that began before the node
 * listened is the start's own and is logged at debug; once it listens, a stall is a warning.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Logger, type LogLevel, References } from "effect"
import * as EventLoopDelay from "@idgen/server/observability/EventLoopDelay"

/** Keeps the event loop busy for `millis` (what a start's module loading does). */
const block = (millis: number) => {
  const end = performance.now() + millis
  while (performance.now() < end) {
    // busy
  }
}

describe("EventLoopDelay stall log", () => {
  it.live("a stall before the node listens is logged at debug, one after it as a warning", () =>
    Effect.gen(function*() {
      const lines: Array<{ readonly level: LogLevel.LogLevel; readonly message: string }> = []
      const capture = Logger.make((options) => {
        const message = String(Array.isArray(options.message) ? options.message[0] : options.message)
        if (message.startsWith("event loop stalled")) lines.push({ level: options.logLevel, message })
      })
      yield* Layer.build(EventLoopDelay.layer.pipe(
        Layer.provide(Layer.mergeAll(Logger.layer([capture]), Layer.succeed(References.MinimumLogLevel, "All")))
      ))
      const stalled = (count: number) =>
        Effect.gen(function*() {
          while (lines.length < count) yield* Effect.sleep(EventLoopDelay.checkMillis)
        }).pipe(Effect.timeout("5 seconds"))

      yield* Effect.sleep(EventLoopDelay.checkMillis * 2)
      block(EventLoopDelay.stallLogMillis * 3)
      yield* stalled(1)
      assert.deepStrictEqual(lines[0], { level: "Debug", message: "event loop stalled during start-up" })

      EventLoopDelay.listening()
      yield* Effect.sleep(EventLoopDelay.checkMillis * 2)
      block(EventLoopDelay.stallLogMillis * 3)
      yield* stalled(lines.length + 1)
      assert.deepStrictEqual(lines.at(-1), { level: "Warn", message: "event loop stalled" })
    }).pipe(Effect.scoped))
})
