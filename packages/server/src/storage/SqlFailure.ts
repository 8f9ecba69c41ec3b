/**
 * The one place where database failures become contract errors.
 *
 * Every `SqlError` a repository does not handle on purpose (a unique violation it turns into
 * `Conflict`, say) becomes `DatabaseUnavailable` (IDGEN-SEG-1003, HTTP 503) — but for a
 * data exception in a write of operator input, which is the request's fault (400). The error's
 * details carry only the operation and the failure class; the driver's message, which may
 * name tables and values, is logged instead of being sent to clients.
 */
import { Errors } from "@idgen/core"
import { Effect } from "effect"
import { isSqlError, type SqlError } from "effect/sql/SqlError"

/** `DatabaseUnavailable` for a failed operation, logging the full cause. */
export const toDatabaseUnavailable = (operation: string) => (error: SqlError) =>
  Effect.logWarning(`${operation}: database failure`, error).pipe(
    Effect.andThen(Effect.fail(
      new Errors.DatabaseUnavailable({
        message: "the database is unavailable",
        details: { operation, reason: error.reason._tag }
      })
    ))
  )

/**
 * Maps any remaining `SqlError` of an effect to `DatabaseUnavailable`.
 * Usable as the last argument of `Effect.fn` or in `.pipe`.
 */
export const orDatabaseUnavailable = (operation: string) =>
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, Exclude<E, SqlError> | Errors.DatabaseUnavailable, R> =>
  Effect.catch(
    self,
    (error): Effect.Effect<never, Exclude<E, SqlError> | Errors.DatabaseUnavailable> =>
      isSqlError(error) ? toDatabaseUnavailable(operation)(error) : Effect.fail(error as Exclude<E, SqlError>)
  )

/**
 * Like `orDatabaseUnavailable`, for the statements that write what an operator sent. There a
 * data exception (SQLSTATE class 22: a number out of its column's range, a NUL in text, …)
 * means a value the request schemas should have refused got through: the request's fault,
 * 400 IDGEN-COMMON-0001, not an outage. Logged in one line (no stack): the schema needs the
 * bound.
 */
export const orInvalidDataOrUnavailable = (operation: string) =>
<A, E, R>(
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, Exclude<E, SqlError> | Errors.InvalidRequest | Errors.DatabaseUnavailable, R> =>
  Effect.catch(
    self,
    (error): Effect.Effect<never, Exclude<E, SqlError> | Errors.InvalidRequest | Errors.DatabaseUnavailable> => {
      if (!isSqlError(error)) return Effect.fail(error as Exclude<E, SqlError>)
      const state = sqlState(error)
      if (state === undefined || !state.startsWith("22")) return toDatabaseUnavailable(operation)(error)
      return Effect.logWarning(`${operation}: the database refused a value of the request (SQLSTATE ${state})`).pipe(
        Effect.andThen(Effect.fail(
          new Errors.InvalidRequest({
            message: "Invalid request body: a value cannot be stored (out of range or not valid text)",
            details: { location: "body", operation, sqlstate: state }
          })
        ))
      )
    }
  )

/** The constraint name when `error` is a unique violation. */
export const uniqueViolation = (error: SqlError): string | undefined =>
  error.reason._tag === "UniqueViolation" ? error.reason.constraint : undefined

/** True when `error` is a foreign-key violation (SQLSTATE 23503). */
export const isForeignKeyViolation = (error: SqlError): boolean =>
  error.reason._tag === "ConstraintError" && sqlState(error) === "23503"

/** The SQLSTATE of the server's error response, when there was one. */
export const sqlState = (error: SqlError): string | undefined => {
  const cause: unknown = error.reason.cause
  if (typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string") {
    return cause.code
  }
  return undefined
}
