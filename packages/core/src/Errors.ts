/**
 * The IDGEN error codes of the contract, one class per row of its error table.
 * Each class knows its code and HTTP status; interfaces map them to their wire form. Each
 * error also carries its code (`error.code`), for callers that do not switch on `_tag`.
 */
import { Schema } from "effect"

/** Free-form, JSON-safe context attached to an error (ids as strings, never bigint). */
export const ErrorDetails = Schema.Record(Schema.String, Schema.Unknown)
export type ErrorDetails = typeof ErrorDetails.Type

const fields = {
  message: Schema.String,
  details: Schema.optional(ErrorDetails)
}

export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", fields) {
  static readonly code = "IDGEN-COMMON-0001"
  static readonly status = 400
  get code() { return InvalidRequest.code }
}
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", fields) {
  static readonly code = "IDGEN-COMMON-0002"
  static readonly status = 401
  get code() { return Unauthorized.code }
}
export class RateLimitExceeded extends Schema.TaggedError<RateLimitExceeded>()("RateLimitExceeded", {
  ...fields,
  retryAfterSeconds: Schema.Number
}) {
  static readonly code = "IDGEN-COMMON-0003"
  static readonly status = 429
  get code() { return RateLimitExceeded.code }
}
export class InternalError extends Schema.TaggedError<InternalError>()("InternalError", fields) {
  static readonly code = "IDGEN-COMMON-0004"
  static readonly status = 500
  get code() { return InternalError.code }
}
export class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>()("ServiceUnavailable", fields) {
  static readonly code = "IDGEN-COMMON-0005"
  static readonly status = 503
  get code() { return ServiceUnavailable.code }
}
export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", fields) {
  static readonly code = "IDGEN-COMMON-0006"
  static readonly status = 403
  get code() { return Forbidden.code }
}
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", fields) {
  static readonly code = "IDGEN-COMMON-0007"
  static readonly status = 404
  get code() { return NotFound.code }
}
export class Conflict extends Schema.TaggedError<Conflict>()("Conflict", fields) {
  static readonly code = "IDGEN-COMMON-0008"
  static readonly status = 409
  get code() { return Conflict.code }
}
export class SegmentExhausted extends Schema.TaggedError<SegmentExhausted>()("SegmentExhausted", fields) {
  static readonly code = "IDGEN-SEG-1001"
  static readonly status = 500
  get code() { return SegmentExhausted.code }
}
export class SegmentAllocateFailed extends Schema.TaggedError<SegmentAllocateFailed>()(
  "SegmentAllocateFailed",
  fields
) {
  static readonly code = "IDGEN-SEG-1002"
  static readonly status = 500
  get code() { return SegmentAllocateFailed.code }
}
export class DatabaseUnavailable extends Schema.TaggedError<DatabaseUnavailable>()("DatabaseUnavailable", fields) {
  static readonly code = "IDGEN-SEG-1003"
  static readonly status = 503
  get code() { return DatabaseUnavailable.code }
}
export class ClockBackward extends Schema.TaggedError<ClockBackward>()("ClockBackward", fields) {
  static readonly code = "IDGEN-SNOW-2001"
  static readonly status = 500
  get code() { return ClockBackward.code }
}
export class SequenceOverflow extends Schema.TaggedError<SequenceOverflow>()("SequenceOverflow", fields) {
  static readonly code = "IDGEN-SNOW-2002"
  static readonly status = 500
  get code() { return SequenceOverflow.code }
}
export class NoAvailableWorkerId extends Schema.TaggedError<NoAvailableWorkerId>()("NoAvailableWorkerId", fields) {
  static readonly code = "IDGEN-SNOW-2003"
  static readonly status = 503
  get code() { return NoAvailableWorkerId.code }
}
export class UuidGenerateFailed extends Schema.TaggedError<UuidGenerateFailed>()("UuidGenerateFailed", fields) {
  static readonly code = "IDGEN-UUID-3001"
  static readonly status = 500
  get code() { return UuidGenerateFailed.code }
}

/** Every IDGEN error class, in the contract's table order. */
export const errorClasses = [
  InvalidRequest,
  Unauthorized,
  RateLimitExceeded,
  InternalError,
  ServiceUnavailable,
  Forbidden,
  NotFound,
  Conflict,
  SegmentExhausted,
  SegmentAllocateFailed,
  DatabaseUnavailable,
  ClockBackward,
  SequenceOverflow,
  NoAvailableWorkerId,
  UuidGenerateFailed
] as const

export type IdgenError = InstanceType<(typeof errorClasses)[number]>

export const IdgenError = Schema.Union(errorClasses)

/** What an error means for whoever handles it, besides its code and status. */
export interface Traits {
  /** The generator cannot issue now, another algorithm of the biz_tag's fallback chain may. */
  readonly fallsBack: boolean
  /**
   * Whether the error counts against the algorithm's health (`DegradationManager`):
   * `store`, a failure of the database, counts against every algorithm that uses it
   * (formatted's counter too); `generator`, a failure of the generator's own resource
   * (clock, worker id, randomness), counts against the algorithm but not against
   * formatted, whose template only sometimes uses it (`{WORKER}`); `no`, a request's or a
   * biz_tag's own problem (its range used up, a momentary sequence overflow).
   */
  readonly health: "store" | "generator" | "no"
  /** The server cannot serve now, another server may: a client retries the call elsewhere. */
  readonly retryElsewhere: boolean
  /** The answer says when to try again (`Retry-After`, `retry_after_seconds`). */
  readonly retryAfter: boolean
}

const traits = (fallsBack: boolean, health: Traits["health"], retryElsewhere: boolean, retryAfter = false): Traits => ({
  fallsBack,
  health,
  retryElsewhere,
  retryAfter
})

/**
 * Every error's traits, keyed by every tag: a new error class does not typecheck until it
 * is classified here.
 */
export const traitsByTag: { readonly [Tag in IdgenError["_tag"]]: Traits } = {
  InvalidRequest: traits(false, "no", false),
  Unauthorized: traits(false, "no", false),
  RateLimitExceeded: traits(false, "no", false, true),
  InternalError: traits(false, "no", false),
  ServiceUnavailable: traits(false, "no", true),
  Forbidden: traits(false, "no", false),
  NotFound: traits(false, "no", false),
  Conflict: traits(false, "no", false),
  SegmentExhausted: traits(true, "no", false),
  SegmentAllocateFailed: traits(true, "store", false),
  DatabaseUnavailable: traits(true, "store", true),
  ClockBackward: traits(true, "generator", false),
  SequenceOverflow: traits(true, "no", false),
  NoAvailableWorkerId: traits(true, "generator", true),
  UuidGenerateFailed: traits(true, "generator", false)
}

/** The traits of an error. */
export const traitsOf = (error: IdgenError): Traits => traitsByTag[error._tag]

/** The whole seconds to announce in `Retry-After` (at least 1), for an error that has them. */
export const retryAfterOf = (error: IdgenError): number | undefined =>
  traitsByTag[error._tag].retryAfter && "retryAfterSeconds" in error ? Math.max(1, Math.ceil(error.retryAfterSeconds)) : undefined

const byTag = new Map<string, (typeof errorClasses)[number]>(errorClasses.map((c) => [c.name, c]))

/** The contract's code (e.g. `IDGEN-SEG-1001`) of an error. */
export const codeOf = (error: IdgenError): string => error.code

/** The HTTP status of an error. */
export const statusOf = (error: IdgenError): number => byTag.get(error._tag)!.status
