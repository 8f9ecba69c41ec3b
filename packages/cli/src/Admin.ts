/**
 * The operator API for commands: the typed admin client of @idgen/client, for the server
 * and admin token of the command line, once both are known good (a token given, the server
 * reachable within the connect timeout). Its IDGEN errors print as `CODE: message`.
 */
import type { AdminError, IdgenAdminClientShape } from "@idgen/client"
import { Console, Effect, Option } from "effect"
import { Flag } from "effect/cli"
import { CliFailure } from "./CliFailure.ts"
import * as FlagValue from "./FlagValue.ts"
import { printJson, printTable } from "./Output.ts"
import { reach } from "./Reach.ts"
import { idgen } from "./Root.ts"

export const call = <A>(f: (client: IdgenAdminClientShape) => Effect.Effect<A, AdminError>) =>
  Effect.gen(function*() {
    const root = yield* idgen
    if (root.adminToken === "") {
      return yield* new CliFailure({ message: "an admin token is needed: --admin-token or IDGEN_ADMIN_TOKEN" })
    }
    yield* reach(root.server, root.connectTimeoutMs)
    // Loaded here, not at start-up: help, usage errors and an unreachable server need none of it.
    const { IdgenAdminClient } = yield* Effect.promise(() => import("@idgen/client"))
    return yield* IdgenAdminClient.use(f).pipe(
      Effect.provide(IdgenAdminClient.layer({ url: root.server, adminToken: root.adminToken }))
    )
  })

/** The given ones of optional flags, as the optional fields of a request (`--limit 5` → `{ limit: 5 }`). */
export const given = <T extends Record<string, Option.Option<unknown>>>(
  flags: T
): { -readonly [K in keyof T]?: T[K] extends Option.Option<infer A> ? A : never } =>
  Object.fromEntries(Object.entries(flags).flatMap(([name, value]) => Option.isSome(value) ? [[name, value.value]] : [])) as any

/** `--limit` and `--cursor` of the paged lists. */
export const pageFlags = {
  limit: Flag.Int("limit").pipe(
    Flag.withDescription("Items per page (1..1000, default 100)"),
    FlagValue.parsed(FlagValue.intIn(1, 1000)),
    Flag.optional
  ),
  cursor: Flag.String("cursor").pipe(Flag.withDescription("Where to go on: the previous page's next cursor"), Flag.optional)
}

/**
 * One page of a paged list, fetched with `list`: the page as JSON (`--json`), or a table on
 * stdout and where the next page starts on stderr (so that stdout stays the table).
 */
export const printPage = <A>(
  list: (client: IdgenAdminClientShape) => Effect.Effect<
    { readonly items: ReadonlyArray<A>; readonly next_cursor: string | null },
    AdminError
  >,
  columns: ReadonlyArray<string>,
  row: (item: A) => ReadonlyArray<unknown>
) =>
  Effect.gen(function*() {
    const root = yield* idgen
    const page = yield* call(list)
    if (root.json) return yield* printJson(page)
    yield* printTable(columns, page.items.map(row))
    if (page.next_cursor !== null) yield* Console.error(`more: --cursor ${page.next_cursor}`)
  })
