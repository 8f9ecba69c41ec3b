/**
 * The error contract of /work/shared/design/API.md ("Errors"), written out independently of
 * the server's own table so that fault drills can tell a contract error from anything else
 * (a stray 500, a stack trace, an HTML page, a dropped connection).
 */
import type { Response } from "./ServerProcess.ts"

/** Every IDGEN code with its HTTP status. */
export const contractStatus: Readonly<Record<string, number>> = {
  "IDGEN-COMMON-0001": 400,
  "IDGEN-COMMON-0002": 401,
  "IDGEN-COMMON-0003": 429,
  "IDGEN-COMMON-0004": 500,
  "IDGEN-COMMON-0005": 503,
  "IDGEN-COMMON-0006": 403,
  "IDGEN-COMMON-0007": 404,
  "IDGEN-COMMON-0008": 409,
  "IDGEN-SEG-1001": 500,
  "IDGEN-SEG-1002": 500,
  "IDGEN-SEG-1003": 503,
  "IDGEN-SNOW-2001": 500,
  "IDGEN-SNOW-2002": 500,
  "IDGEN-SNOW-2003": 503,
  "IDGEN-UUID-3001": 500
}

/**
 * Undefined when `response` is a success (2xx) or an error of the contract: a known code
 * with its status, the documented body fields, the request id echoed in `X-Request-Id`, no
 * stack trace. Otherwise what is wrong with it.
 */
export const contractViolation = (response: Response): string | undefined => {
  if (response.status >= 200 && response.status < 300) return undefined
  const error = response.json?.error
  const problem = error === undefined || typeof error !== "object"
    ? "not an error body"
    : contractStatus[error.code] === undefined
    ? `unknown code ${error.code}`
    : contractStatus[error.code] !== response.status
    ? `${error.code} with status ${response.status}`
    : Object.keys(error).sort().join(",") !== "code,details,message,request_id,timestamp"
    ? "error fields differ from the contract"
    : response.headers.get("x-request-id") !== error.request_id
    ? "X-Request-Id differs from the body's request_id"
    : response.text.includes("    at ")
    ? "a stack trace leaked"
    : undefined
  return problem === undefined ? undefined : `${problem}: ${response.status} ${response.text.slice(0, 300)}`
}
