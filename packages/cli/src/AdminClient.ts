/**
 * The operator API (`/api/v1/admin`, `Authorization: Bearer <admin token>`) for the CLI:
 * JSON in, JSON out; an error body becomes a `CliFailure` reading `CODE: message`.
 */
import { Effect } from "effect"
import { CliFailure } from "./CliFailure.ts"

export interface AdminTarget {
  readonly server: string
  readonly adminToken: string
}

export const request = (
  target: AdminTarget,
  method: "GET" | "POST" | "PATCH" | "DELETE",
  path: string,
  body?: unknown
): Effect.Effect<any, CliFailure> =>
  Effect.gen(function*() {
    if (target.adminToken === "") {
      return yield* new CliFailure({ message: "an admin token is needed: --admin-token or IDGEN_ADMIN_TOKEN" })
    }
    const url = `${target.server.replace(/\/+$/, "")}/api/v1/admin${path}`
    const response = yield* Effect.tryPromise({
      try: (signal) =>
        fetch(url, {
          method,
          signal,
          headers: {
            authorization: `Bearer ${target.adminToken}`,
            ...(body === undefined ? {} : { "content-type": "application/json" })
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) })
        }),
      catch: (error) => new CliFailure({ message: `cannot reach ${target.server}: ${(error as Error).message}` })
    })
    const text = yield* Effect.promise(() => response.text())
    const parsed = text === "" ? undefined : safeJson(text)
    if (response.ok) return parsed
    const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error
    return yield* new CliFailure({
      message: error?.code !== undefined ? `${error.code}: ${error.message}` : `HTTP ${response.status}: ${text.slice(0, 200)}`
    })
  })

const safeJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
