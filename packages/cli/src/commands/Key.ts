/**
 * `idgen key create <workspace>` and `idgen key revoke <workspace> <id>` (operator API).
 */
import { Console, Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Admin from "../AdminClient.ts"
import { printJson } from "../Output.ts"
import { idgen } from "../Root.ts"

const workspaceArg = Argument.String("workspace").pipe(Argument.withDescription("Workspace the key belongs to"))

const create = Command.make("create", {
  workspace: workspaceArg,
  name: Flag.String("name").pipe(Flag.withDescription("A label for the key"), Flag.optional),
  expiresAt: Flag.String("expires-at").pipe(Flag.withDescription("RFC 3339 expiry, e.g. 2027-01-01T00:00:00Z"), Flag.optional)
}, (input) =>
  Effect.gen(function*() {
    const root = yield* idgen
    const created = yield* Admin.request(root, "POST", `/workspaces/${encodeURIComponent(input.workspace)}/api-keys`, {
      ...(Option.isSome(input.name) ? { name: input.name.value } : {}),
      ...(Option.isSome(input.expiresAt) ? { expires_at: input.expiresAt.value } : {})
    })
    if (root.json) return yield* printJson(created)
    yield* Console.log(created.key)
    yield* Console.error(
      `API key ${created.id} for workspace ${input.workspace} (expires ${created.expires_at ?? "never"}); ` +
        "the key is shown only now"
    )
  })).pipe(Command.withDescription("Create an API key; prints the key (shown only once)"))

const revoke = Command.make("revoke", {
  workspace: workspaceArg,
  id: Argument.String("id").pipe(Argument.withDescription("The key's id (from key create)"))
}, (input) =>
  Effect.gen(function*() {
    const root = yield* idgen
    yield* Admin.request(root, "DELETE", `/workspaces/${encodeURIComponent(input.workspace)}/api-keys/${encodeURIComponent(input.id)}`)
    if (root.json) return yield* printJson({ revoked: input.id })
    yield* Console.log(`revoked API key ${input.id}`)
  })).pipe(Command.withDescription("Revoke an API key (stops working on every node within seconds)"))

export const key = Command.make("key").pipe(
  Command.withDescription("Manage API keys (needs the admin token)"),
  Command.withSubcommands([create, revoke])
)
