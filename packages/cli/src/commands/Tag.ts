/**
 * `idgen tag create|list|update|delete` (operator API).
 */
import { Names } from "@idgen/core"
import { Console, Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Admin from "../AdminClient.ts"
import { printJson, printTable } from "../Output.ts"
import { idgen } from "../Root.ts"
import * as TagPath from "../TagPath.ts"

const pathArg = Argument.String("tag").pipe(Argument.withDescription("workspace/group/biz_tag"))

const algorithm = Flag.Literals("algorithm", Names.Algorithm.literals).pipe(
  Flag.withAlias("a"),
  Flag.withDescription("segment, snowflake, uuid_v7, uuid_v4 or formatted")
)
const settings = {
  fallback: Flag.String("fallback").pipe(
    Flag.withDescription("Comma-separated algorithms tried in order when the primary one cannot issue"),
    Flag.optional
  ),
  step: Flag.Int("step").pipe(Flag.withDescription("Base step of segment allocation"), Flag.optional),
  template: Flag.String("template").pipe(
    Flag.withDescription("Format template, e.g. INV{YYYYMMDD}{SEQ:6} (algorithm formatted)"),
    Flag.optional
  )
}

const body = (input: {
  readonly fallback: Option.Option<string>
  readonly step: Option.Option<number>
  readonly template: Option.Option<string>
}) => ({
  ...(Option.isSome(input.fallback)
    ? { fallback: input.fallback.value.split(",").map((s) => s.trim()).filter((s) => s !== "") }
    : {}),
  ...(Option.isSome(input.step) ? { step: input.step.value } : {}),
  ...(Option.isSome(input.template) ? { format_template: input.template.value } : {})
})

const tagUrl = (path: TagPath.TagPath) =>
  `/workspaces/${encodeURIComponent(path.workspace)}/biz-tags/${encodeURIComponent(path.group)}/${encodeURIComponent(path.name)}`

const describeTag = (tag: any) =>
  `${tag.workspace}/${tag.group}/${tag.name}: ${tag.algorithm}` +
  (tag.fallback.length > 0 ? ` (fallback ${tag.fallback.join(", ")})` : "") +
  `, step ${tag.step}` + (tag.format_template === null ? "" : `, template ${tag.format_template}`)

const create = Command.make("create", { path: pathArg, algorithm, ...settings }, (input) =>
  Effect.gen(function*() {
    const root = yield* idgen
    const path = yield* TagPath.parse(input.path)
    const created = yield* Admin.request(root, "POST", `/workspaces/${encodeURIComponent(path.workspace)}/biz-tags`, {
      group: path.group,
      name: path.name,
      algorithm: input.algorithm,
      ...body(input)
    })
    if (root.json) return yield* printJson(created)
    yield* Console.log(`created ${describeTag(created)}`)
  })).pipe(
  Command.withDescription("Create a biz_tag (its group is created when needed)"),
  Command.withExamples([
    { command: "idgen tag create shop/orders/order-id -a snowflake --fallback segment", description: "snowflake IDs, segment when the clock is off" },
    { command: "idgen tag create shop/billing/invoice -a formatted --template 'INV{YYYYMMDD}{SEQ:6}'", description: "invoice numbers" }
  ])
)

const list = Command.make("list", {
  workspace: Argument.String("workspace").pipe(Argument.withDescription("Workspace whose biz_tags to list"))
}, (input) =>
  Effect.gen(function*() {
    const root = yield* idgen
    const tags: ReadonlyArray<any> = yield* Admin.request(root, "GET", `/workspaces/${encodeURIComponent(input.workspace)}/biz-tags`)
    if (root.json) return yield* printJson(tags)
    yield* printTable(
      ["GROUP", "NAME", "ALGORITHM", "FALLBACK", "STEP", "TEMPLATE", "REMAINING"],
      tags.map((t) => [t.group, t.name, t.algorithm, t.fallback.join(",") || null, t.step, t.format_template, t.remaining])
    )
  })).pipe(
  Command.withDescription("List a workspace's biz_tags, with each segment tag's remaining capacity"),
  Command.withAlias("ls"),
  Command.withExamples([{ command: "idgen tag list shop --json", description: "as JSON, for scripts" }])
)

const update = Command.make("update", { path: pathArg, algorithm: algorithm.pipe(Flag.optional), ...settings }, (input) =>
  Effect.gen(function*() {
    const root = yield* idgen
    const path = yield* TagPath.parse(input.path)
    const updated = yield* Admin.request(root, "PATCH", tagUrl(path), {
      ...(Option.isSome(input.algorithm) ? { algorithm: input.algorithm.value } : {}),
      ...body(input)
    })
    if (root.json) return yield* printJson(updated)
    yield* Console.log(`updated ${describeTag(updated)}`)
  })).pipe(
  Command.withDescription("Change a biz_tag's algorithm, fallback chain, step or template"),
  Command.withExamples([{ command: "idgen tag update shop/orders/order-id --step 5000", description: "larger segments for a busy tag" }])
)

const remove = Command.make("delete", { path: pathArg }, (input) =>
  Effect.gen(function*() {
    const root = yield* idgen
    const path = yield* TagPath.parse(input.path)
    yield* Admin.request(root, "DELETE", tagUrl(path))
    if (root.json) return yield* printJson({ deleted: input.path })
    yield* Console.log(`deleted ${input.path} (its numbers are never issued again)`)
  })).pipe(
  Command.withDescription("Delete a biz_tag: it answers 404 on every node; its numbers are never reused"),
  Command.withExamples([{ command: "idgen tag delete shop/orders/old-id", description: "retire a biz_tag" }])
)

export const tag = Command.make("tag").pipe(
  Command.withDescription("Manage biz_tags (needs the admin token)"),
  Command.withSubcommands([create, list, update, remove])
)
