/**
 * The Promise clients' answer from an Effect's exit: the value, or a rejection with the
 * typed error itself (`instanceof Errors.Forbidden`, `error.code`), not a wrapper.
 */
import { Cause, Exit } from "effect"

export const settle = <A, E>(exit: Exit.Exit<A, E>): A => {
  if (Exit.isSuccess(exit)) return exit.value
  const failure = Cause.findErrorOption(exit.cause)
  throw failure._tag === "Some" ? failure.value : Cause.squash(exit.cause)
}
