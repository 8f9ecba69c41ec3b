/**
 * A failure the CLI reports to its user as one line on stderr, with exit code 1.
 */
import { Errors } from "@idgen/core"
import { Schema } from "effect"

export class CliFailure extends Schema.TaggedError<CliFailure>()("CliFailure", {
  message: Schema.String
}) {}

const isIdgenError = Schema.is(Errors.IdgenError)

/** The one-line text of any failure: IDGEN errors as `CODE: message`, others by message. */
export const describe = (error: unknown): string => {
  if (isIdgenError(error)) return `${Errors.codeOf(error)}: ${error.message}`
  if (typeof error === "object" && error !== null) {
    const e = error as { readonly code?: unknown; readonly message?: unknown; readonly _tag?: unknown }
    if (typeof e.message === "string" && e.message !== "") return e.message
    if (typeof e._tag === "string") return e._tag
  }
  return String(error)
}
