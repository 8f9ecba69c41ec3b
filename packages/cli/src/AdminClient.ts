/**
 * The operator API (`/api/v1/admin`, `Authorization: Bearer <admin token>`) for the CLI:
 * JSON in, JSON out; an error body becomes a `CliFailure` reading `CODE: message`.
 */
import { Console, Effect, Option } from "effect"
import { Flag } from "effect/cli"
import { CliFailure } from "./CliFailure.ts"
import { reach } from "./Reach.ts"

export interface AdminTarget {
  readonly server: string
  readonly adminToken: string
  readonly connectTimeoutMs: number
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
    yield* reach(target.server, target.connectTimeoutMs)
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
      catch: (error) => {
        // fetch says only "fetch failed"; the cause (ECONNRESET, ...) is what the user needs.
        const { cause, message } = error as Error & { cause?: { code?: string; message?: string } }
        return new CliFailure({ message: `request to ${url} failed: ${cause?.code ?? cause?.message ?? message}` })
      }
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

/** `--limit` and `--cursor` of the paged lists. */
export const pageFlags = {
  limit: Flag.Int("limit").pipe(Flag.withDescription("Items per page (1..1000, default 100)"), Flag.optional),
  cursor: Flag.String("cursor").pipe(Flag.withDescription("Where to go on: the previous page's next cursor"), Flag.optional)
}

/** The query string of the given filters (absent ones left out), `?` included when any. */
export const query = (params: Record<string, Option.Option<string | number>>): string => {
  const search = new URLSearchParams()
  for (const [name, value] of Object.entries(params)) if (Option.isSome(value)) search.set(name, String(value.value))
  const text = search.toString()
  return text === "" ? "" : `?${text}`
}

export const pageQuery = (input: { readonly limit: Option.Option<number>; readonly cursor: Option.Option<string> }) =>
  query({ limit: input.limit, cursor: input.cursor })

/** Tells where the next page starts (stderr, so that stdout stays the table). */
export const printNextCursor = (page: { readonly next_cursor: string | null }) =>
  page.next_cursor === null ? Effect.void : Console.error(`more: --cursor ${page.next_cursor}`)
