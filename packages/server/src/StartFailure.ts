/**
 * A start that cannot go on for a reason the operator can act on — a port taken, the
 * database unreachable, the data directory unusable, the configuration refused. `Launch.ts`
 * prints the message as one line on stderr, without a stack trace, and exits with the code
 * (sysexits.h, so that a supervisor can tell them apart; README "Start-up failures and exit
 * codes"). A worker process hands it to its primary instead, which prints it once for the
 * instance.
 */
import { Console, Effect, Schema } from "effect"
import cluster from "node:cluster"
import { getSystemErrorMessage } from "node:util"
import { EXIT_CONFIG } from "./config/ConfigInvalid.ts"

/** EX_UNAVAILABLE: something the node needs is not available (a port, the database). */
export const EXIT_UNAVAILABLE = 69
/** EX_CANTCREAT: the data directory or the port file cannot be made or written. */
export const EXIT_CANTCREAT = 73
/** EX_CONFIG: the configuration was refused. */
export { EXIT_CONFIG }

export const exitCodes: ReadonlyArray<number> = [EXIT_UNAVAILABLE, EXIT_CANTCREAT, EXIT_CONFIG]

export class StartFailure extends Schema.TaggedError<StartFailure>()("StartFailure", {
  message: Schema.String,
  exitCode: Schema.Int
}) {}

export const unavailable = (message: string) => new StartFailure({ message, exitCode: EXIT_UNAVAILABLE })

export const cannotCreate = (message: string) => new StartFailure({ message, exitCode: EXIT_CANTCREAT })

/**
 * What a worker process tells its primary about its start: that it serves (every port bound),
 * or why it could not start, before it exits with `exitCode`.
 */
export const Report = Schema.Union([
  Schema.TaggedStruct("Serving", {}),
  Schema.TaggedStruct("StartFailed", { message: Schema.String, exitCode: Schema.Int })
])
export const decodeReport = Schema.decodeUnknownOption(Report)

/** In a worker process: tells the primary that this worker serves (after every port is bound). */
export const announceServing: Effect.Effect<void> = Effect.sync(() => {
  if (cluster.isWorker) process.send?.({ _tag: "Serving" })
})

/** The start-up errors of other modules that are the operator's to fix, by tag, with their exit codes. */
const exitCodeOf: Readonly<Record<string, number>> = {
  ConfigInvalid: EXIT_CONFIG,
  DataDirLocked: EXIT_UNAVAILABLE,
  DataDirLockError: EXIT_CANTCREAT,
  PortFileError: EXIT_CANTCREAT
}

/** `error` as a start failure, or undefined for an error that is not one (a bug: reported with its stack). */
export const fromError = (error: unknown): StartFailure | undefined => {
  if (error instanceof StartFailure) return error
  const tag = (error as { readonly _tag?: unknown } | undefined)?._tag
  const exitCode = typeof tag === "string" ? exitCodeOf[tag] : undefined
  return exitCode === undefined ? undefined : new StartFailure({ message: (error as Error).message, exitCode })
}

/**
 * Ends the process on a start failure of `self`: its line on stderr (a worker process sends
 * it to its primary instead) and its exit code. Any other error is passed on.
 */
export const exitOnFailure = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.catch(self, (error) => {
    const failure = fromError(error)
    if (failure === undefined) return Effect.fail(error)
    const report = cluster.isWorker && process.send !== undefined
      ? Effect.callback<void>((resume) => {
        process.send!({ _tag: "StartFailed", message: failure.message, exitCode: failure.exitCode }, undefined, {}, () =>
          resume(Effect.void))
      })
      : Console.error(`idgen: ${failure.message}`)
    return Effect.andThen(report, Effect.sync(() => process.exit(failure.exitCode)))
  })

/** Names the resolver gives for a host it cannot find. */
const hostNotFound = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_NONAME", "EAI_FAIL"])

/**
 * The operating system's reason in a Node error, as a person reads it: "address already in
 * use (EADDRINUSE)", "host not found (ENOTFOUND)"; the error's message for anything else.
 */
export const osReason = (error: unknown): string => {
  const { code, errno, message } = (error ?? {}) as NodeJS.ErrnoException
  if (code !== undefined && hostNotFound.has(code)) return `host not found (${code})`
  if (code !== undefined && typeof errno === "number" && errno < 0) {
    try {
      return `${getSystemErrorMessage(errno)} (${code})`
    } catch {
      // Not an errno libuv knows: the message below still names it.
    }
  }
  return message ?? String(error)
}

/** A server (`what`: "HTTP", "gRPC", "metrics") that cannot listen where it is told. */
export const cannotListen = (what: string, host: string, port: number, cause: unknown) =>
  unavailable(`${what} cannot listen on ${host}:${port}: ${osReason(cause)}`)
