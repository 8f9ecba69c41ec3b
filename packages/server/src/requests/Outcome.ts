/**
 * How a request that did not succeed ended, the same for every interface: with an IDGEN
 * error (answered as the contract says), interrupted (the client went away or its deadline
 * passed: nobody to answer, or a transport-level answer), or by a defect (a bug: logged
 * with its cause, answered as 500 IDGEN-COMMON-0004, never shown). Each protocol builds its
 * one outcome mapper from this with `answer`.
 */
import { Errors } from "@idgen/core"
import { Cause } from "effect"

export type Failure =
  | { readonly _tag: "Error"; readonly error: Errors.IdgenError }
  | { readonly _tag: "Interrupted" }
  | { readonly _tag: "Defect"; readonly cause: Cause.Cause<unknown> }

const interrupted: Failure = { _tag: "Interrupted" }

export const classify = (cause: Cause.Cause<Errors.IdgenError>): Failure => {
  const failure = Cause.findErrorOption(cause)
  if (failure._tag === "Some") return { _tag: "Error", error: failure.value }
  return Cause.hasInterruptsOnly(cause) ? interrupted : { _tag: "Defect", cause }
}

/** What a defect is answered with (its cause is logged, never shown). */
export const internalError = new Errors.InternalError({ message: "Internal server error", details: {} })

/** A protocol's answers to the three ways a request fails, for exchange `X`. */
export interface Answers<X, R> {
  /** The contract's answer to an IDGEN error. */
  readonly error: (x: X, error: Errors.IdgenError) => R
  readonly interrupted: (x: X, cause: Cause.Cause<Errors.IdgenError>) => R
  /** Logs the cause and answers `internalError`. */
  readonly defect: (x: X, cause: Cause.Cause<unknown>) => R
}

/** A protocol's outcome mapper: the answer to a failed request's cause. */
export const answer = <X, R>(answers: Answers<X, R>) => (x: X, cause: Cause.Cause<Errors.IdgenError>): R => {
  const failure = classify(cause)
  switch (failure._tag) {
    case "Error":
      return answers.error(x, failure.error)
    case "Interrupted":
      return answers.interrupted(x, cause)
    case "Defect":
      return answers.defect(x, failure.cause)
  }
}
