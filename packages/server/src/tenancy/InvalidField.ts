/**
 * The 400 (IDGEN-COMMON-0001) for a body field that is well-formed but breaks a rule of
 * the tenancy model, shaped like the schema errors of `RequestValidation`.
 */
import { Errors } from "@idgen/core"

export const invalidField = (field: string, message: string, extra: Record<string, unknown> = {}) =>
  new Errors.InvalidRequest({
    message: `Invalid request body: ${field}: ${message}`,
    details: { location: "body", errors: [{ field, message }], ...extra }
  })
