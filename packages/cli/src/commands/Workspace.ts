/**
 * `idgen workspace create|list|get|update` (operator API).
 */
import { Names } from "@idgen/core"
import type { Workspace } from "@idgen/protocol/http"
import { Console, Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Admin from "../Admin.ts"
import { CliFailure } from "../CliFailure.ts"
import * as FlagValue from "../FlagValue.ts"
import { printJson, printTable } from "../Output.ts"
import { idgen } from "../Root.ts"

const nameArg = Argument.String("name").pipe(
  Argument.withDescription("Workspace name ([a-z0-9][a-z0-9_-]{0,63})"),
  FlagValue.parsed(FlagValue.name)
)

/** `1000/2000` → the wire's rate limit; `none` → null. */
const rateLimit = (given: string) => {
  const match = /^(\d+)\/(\d+)$/.exec(given)
  return given === "none"
    ? Effect.succeed(null)
    : match === null
    ? Effect.fail("PER_SECOND/BURST (e.g. 1000/2000) or none")
    : FlagValue.contract((http) => http.RateLimit)({ per_second: Number(match[1]), burst: Number(match[2]) }).pipe(
      Effect.mapError((why) => `PER_SECOND/BURST (e.g. 1000/2000) or none: ${why}`)
    )
}

const settings = {
  defaultAlgorithm: Flag.Literals("default-algorithm", Names.Algorithm.literals).pipe(
    Flag.withDescription("Algorithm of biz_tags created on first use"),
    Flag.optional
  ),
  maxAutoBizTags: Flag.Int("max-auto-biz-tags").pipe(
    Flag.withDescription("How many biz_tags may be created on first use, 0..1000000 (a new workspace gets 10000)"),
    FlagValue.parsed(FlagValue.contract((http) => http.CreateWorkspaceRequest.fields.max_auto_biz_tags)),
    Flag.optional
  ),
  rateLimit: Flag.String("rate-limit").pipe(
    Flag.withDescription("PER_SECOND/BURST, e.g. 1000/2000, or none"),
    FlagValue.parsed(rateLimit),
    Flag.optional
  ),
  defaultFallback: Flag.String("default-fallback").pipe(
    Flag.withDescription("Comma-separated fallback chain of auto-created biz_tags (empty: none)"),
    FlagValue.parsed(FlagValue.algorithms),
    Flag.optional
  )
}

type Settings = { readonly [K in keyof typeof settings]: (typeof settings)[K] extends Flag.Flag<infer A> ? A : never }

const settingsBody = (input: Settings) =>
  Admin.given({
    default_algorithm: input.defaultAlgorithm,
    max_auto_biz_tags: input.maxAutoBizTags,
    rate_limit: input.rateLimit,
    default_fallback: input.defaultFallback
  })

const rateLimitText = (limit: typeof Workspace.Type["rate_limit"]) =>
  limit === null ? null : `${limit.per_second}/s burst ${limit.burst}`

const describeWorkspace = (w: typeof Workspace.Type) =>
  [
    ["name", w.name],
    ["default_algorithm", w.default_algorithm],
    ["default_fallback", w.default_fallback.join(",") || null],
    ["auto_create_biz_tags", w.auto_create_biz_tags],
    ["max_auto_biz_tags", w.max_auto_biz_tags],
    ["rate_limit", rateLimitText(w.rate_limit)],
    ["created_at", w.created_at]
  ] as const

const create = Command.make("create", {
  name: nameArg,
  ...settings,
  noAutoCreate: Flag.Boolean("no-auto-create").pipe(
    Flag.withDescription("Unknown biz_tags are 404 instead of being created on first use"),
    Flag.withDefault(false)
  )
}, (input) =>
  Effect.gen(function*() {
    const root = yield* idgen
    const payload = {
      name: input.name,
      ...settingsBody(input),
      ...(input.noAutoCreate ? { auto_create_biz_tags: false } : {})
    }
    const created = yield* Admin.call((admin) => admin.admin.createWorkspace({ payload }))
    if (root.json) return yield* printJson(created)
    yield* Console.log(`created workspace ${created.name} (default algorithm ${created.default_algorithm})`)
  })).pipe(
  Command.withDescription("Create a workspace"),
  Command.withExamples([{ command: "idgen workspace create shop --rate-limit 1000/2000", description: "with a rate limit" }])
)

const list = Command.make("list", {}, () =>
  Effect.gen(function*() {
    const root = yield* idgen
    const workspaces = yield* Admin.call((admin) => admin.admin.listWorkspaces())
    if (root.json) return yield* printJson(workspaces)
    yield* printTable(
      ["NAME", "DEFAULT ALGORITHM", "AUTO-CREATE", "RATE LIMIT", "CREATED"],
      workspaces.map((w) => [
        w.name,
        w.default_algorithm,
        w.auto_create_biz_tags,
        rateLimitText(w.rate_limit),
        w.created_at
      ])
    )
  })).pipe(
  Command.withDescription("List workspaces"),
  Command.withAlias("ls"),
  Command.withExamples([{ command: "idgen workspace list -s 10.0.0.5:8080", description: "on another server" }])
)

const show = (workspace: typeof Workspace.Type) =>
  Effect.gen(function*() {
    const root = yield* idgen
    if (root.json) return yield* printJson(workspace)
    yield* printTable(["SETTING", "VALUE"], describeWorkspace(workspace))
  })

const get = Command.make("get", { name: nameArg }, (input) =>
  Effect.gen(function*() {
    yield* show(yield* Admin.call((admin) => admin.admin.getWorkspace({ params: { ws: input.name } })))
  })).pipe(
  Command.withDescription("Show a workspace with its settings"),
  Command.withExamples([{ command: "idgen workspace get shop", description: "its settings" }])
)

const update = Command.make("update", {
  name: nameArg,
  ...settings,
  autoCreate: Flag.Literals("auto-create", ["on", "off"]).pipe(
    Flag.withDescription("on: create unknown biz_tags on first use; off: answer 404"),
    Flag.optional
  )
}, (input) =>
  Effect.gen(function*() {
    const payload = {
      ...settingsBody(input),
      ...(Option.isSome(input.autoCreate) ? { auto_create_biz_tags: input.autoCreate.value === "on" } : {})
    }
    if (Object.keys(payload).length === 0) return yield* new CliFailure({ message: "nothing to change: give at least one setting" })
    yield* show(yield* Admin.call((admin) => admin.admin.updateWorkspace({ params: { ws: input.name }, payload })))
  })).pipe(
  Command.withDescription("Change a workspace's settings"),
  Command.withExamples([{ command: "idgen workspace update shop --default-fallback uuid_v7 --auto-create off", description: "fallback for new tags; no more auto-creation" }])
)

export const workspace = Command.make("workspace").pipe(
  Command.withDescription("Manage workspaces (needs the admin token)"),
  Command.withSubcommands([create, list, get, update])
)
