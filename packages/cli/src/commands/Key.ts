/**
 * `idgen key create|list|revoke` (operator API).
 */
import { Console, Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Admin from "../Admin.ts"
import * as FlagValue from "../FlagValue.ts"
import { printJson } from "../Output.ts"
import { idgen } from "../Root.ts"

const workspaceArg = Argument.String("workspace").pipe(
  Argument.withDescription("Workspace the key belongs to"),
  FlagValue.parsed(FlagValue.name)
)

const create = Command.make("create", {
  workspace: workspaceArg,
  name: Flag.String("name").pipe(Flag.withDescription("A label for the key"), Flag.optional),
  expiresAt: Flag.String("expires-at").pipe(
    Flag.withDescription("Expiry: RFC 3339 (2027-01-01T00:00:00Z) or a date (its midnight UTC)"),
    FlagValue.parsed(FlagValue.instant({ ago: false })),
    Flag.optional
  )
}, (input) =>
  Effect.gen(function*() {
    const root = yield* idgen
    const payload = Admin.given({ name: input.name, expires_at: input.expiresAt })
    const created = yield* Admin.call((admin) => admin.admin.createApiKey({ params: { ws: input.workspace }, payload }))
    if (root.json) return yield* printJson(created)
    yield* Console.log(created.key)
    yield* Console.error(
      `API key ${created.id} for workspace ${input.workspace} (expires ${created.expires_at ?? "never"}); ` +
        "the key is shown only now"
    )
  })).pipe(
  Command.withDescription("Create an API key; prints the key (shown only once)"),
  Command.withExamples([{ command: "idgen key create shop --name checkout --expires-at 2027-01-01T00:00:00Z", description: "a key for one service" }])
)

const revoke = Command.make("revoke", {
  workspace: workspaceArg,
  id: Argument.String("id").pipe(Argument.withDescription("The key's id (from key create)"))
}, (input) =>
  Effect.gen(function*() {
    const root = yield* idgen
    yield* Admin.call((admin) => admin.admin.revokeApiKey({ params: { ws: input.workspace, id: input.id } }))
    if (root.json) return yield* printJson({ revoked: input.id })
    yield* Console.log(`revoked API key ${input.id}`)
  })).pipe(
  Command.withDescription("Revoke an API key (stops working on every node within seconds)"),
  Command.withExamples([{ command: "idgen key revoke shop 3f2a9c1e", description: "the id comes from key list" }])
)

const list = Command.make("list", { workspace: workspaceArg, ...Admin.pageFlags }, (input) =>
  Admin.printPage(
    (admin) =>
      admin.admin.listApiKeys({
        params: { ws: input.workspace },
        query: Admin.given({ limit: input.limit, cursor: input.cursor })
      }),
    ["ID", "PREFIX", "NAME", "CREATED", "EXPIRES", "LAST USED", "REVOKED"],
    (k) => [k.id, k.prefix, k.name, k.created_at, k.expires_at, k.last_used_at, k.revoked_at]
  )).pipe(
  Command.withDescription("List a workspace's API keys (never the keys themselves)"),
  Command.withAlias("ls"),
  Command.withExamples([{ command: "idgen key list shop", description: "ids, prefixes, expiry and last use" }])
)

export const key = Command.make("key").pipe(
  Command.withDescription("Manage API keys (needs the admin token)"),
  Command.withSubcommands([create, list, revoke])
)
