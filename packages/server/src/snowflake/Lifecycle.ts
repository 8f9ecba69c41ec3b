/**
 * The supervised fiber of a worker-id implementation: one session (acquire, hold, lose)
 * after another for the scope's lifetime. A session that fails — a bug, not a lost id,
 * which ends a session normally — is logged and started again after a pause.
 */
import { Effect, type Scope } from "effect"

export const supervise = <E>(
  name: string,
  session: Effect.Effect<void, E, Scope.Scope>,
  pauseMs: number
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.forkScoped(
    Effect.scoped(session).pipe(
      Effect.catchCause((cause) =>
        Effect.logError(`${name} lifecycle failed; restarting it`, cause).pipe(Effect.andThen(Effect.sleep(pauseMs)))
      ),
      Effect.forever
    )
  ).pipe(Effect.asVoid)

/** Warnings of retry loops: each problem is logged once, not on every retry, until `clear`. */
export const reports = () => {
  let last = ""
  return {
    warn: (message: string): Effect.Effect<void> =>
      message === last ? Effect.void : Effect.suspend(() => {
        last = message
        return Effect.logWarning(message)
      }),
    clear: () => {
      last = ""
    }
  }
}
