/**
 * Errors of the client itself (the server's are the IDGEN errors of `@idgen/core`).
 */
import { Schema } from "effect"

/**
 * No configured server answered within the call's timeout: each was unreachable, broke
 * the connection, timed out or reported itself unavailable. `attempts` says what each
 * last did, so an operator can tell "all down" from "all refusing".
 */
export class AllServersUnavailable extends Schema.TaggedError<AllServersUnavailable>()("AllServersUnavailable", {
  message: Schema.String,
  endpoints: Schema.Array(Schema.String),
  attempts: Schema.Array(Schema.Struct({ endpoint: Schema.String, error: Schema.String }))
}) {}

/** `nextBigInt` on a biz_tag whose IDs are not decimal numbers (UUIDs, formatted). */
export class NotNumericId extends Schema.TaggedError<NotNumericId>()("NotNumericId", {
  message: Schema.String,
  id: Schema.String
}) {}

/**
 * An operator API call that got no answer from the server (unreachable, connection broken,
 * no answer within the timeout), or an answer that is not the contract's.
 */
export class AdminRequestFailed extends Schema.TaggedError<AdminRequestFailed>()("AdminRequestFailed", {
  message: Schema.String,
  url: Schema.String
}) {}
