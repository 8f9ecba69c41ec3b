/**
 * The one way a test waits for something to happen: poll a check until it yields a value,
 * failing the test after a deadline. Real time, whatever clock the test runs with.
 */
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { wait } from "./ServerProcess.ts"

/**
 * Runs `check` every `everyMillis` until it yields something other than `false` or
 * `undefined`, and returns that; fails the test with `what` after `withinMillis`.
 */
export const eventually = <A, E, R>(
  what: string,
  withinMillis: number,
  check: Effect.Effect<A | false | undefined, E, R>,
  everyMillis = 100
): Effect.Effect<A, E, R> =>
  Effect.gen(function*() {
    const deadline = Date.now() + withinMillis
    while (true) {
      const value = yield* check
      if (value !== undefined && value !== false) return value
      if (Date.now() > deadline) return assert.fail(`${what}: not within ${withinMillis} ms`)
      yield* wait(everyMillis)
    }
  })
