/**
 * `idgen workspace create <name>` and `idgen workspace list` (operator API).
 */
import { Names } from "@idgen/core"
import { Console, Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Admin from "../AdminClient.ts"
import { printJson, printTable } from "../Output.ts"
import { idgen } from "../Root.ts"

const create = Command.make("create", {
  name: Argument.String("name").pipe(Argument.withDescription("Workspace name ([a-z0-9][a-z0-9_-]{0,63})")),
  defaultAlgorithm: Flag.Literals("default-algorithm", Names.Algorithm.literals).pipe(
    Flag.withDescription("Algorithm of biz_tags created on first use"),
    Flag.optional
  ),
  noAutoCreate: Flag.Boolean("no-auto-create").pipe(
    Flag.withDescription("Unknown biz_tags are 404 instead of being created on first use"),
    Flag.withDefault(false)
  )
}, (input) =>
  Effect.gen(function*() {
    const root = yield* idgen
    const created = yield* Admin.request(root, "POST", "/workspaces", {
      name: input.name,
      ...(Option.isSome(input.defaultAlgorithm) ? { default_algorithm: input.defaultAlgorithm.value } : {}),
      ...(input.noAutoCreate ? { auto_create_biz_tags: false } : {})
    })
    if (root.json) return yield* printJson(created)
    yield* Console.log(`created workspace ${created.name} (default algorithm ${created.default_algorithm})`)
  })).pipe(Command.withDescription("Create a workspace"))

const list = Command.make("list", {}, () =>
  Effect.gen(function*() {
    const root = yield* idgen
    const workspaces: ReadonlyArray<any> = yield* Admin.request(root, "GET", "/workspaces")
    if (root.json) return yield* printJson(workspaces)
    yield* printTable(
      ["NAME", "DEFAULT ALGORITHM", "AUTO-CREATE", "RATE LIMIT", "CREATED"],
      workspaces.map((w) => [
        w.name,
        w.default_algorithm,
        w.auto_create_biz_tags,
        w.rate_limit === null ? null : `${w.rate_limit.per_second}/s burst ${w.rate_limit.burst}`,
        w.created_at
      ])
    )
  })).pipe(Command.withDescription("List workspaces"), Command.withAlias("ls"))

export const workspace = Command.make("workspace").pipe(
  Command.withDescription("Manage workspaces (needs the admin token)"),
  Command.withSubcommands([create, list])
)
