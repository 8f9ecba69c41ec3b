/**
 * `idgen tag create|list|update|delete` (operator API).
 */
import { Names } from "@idgen/core"
import type { BizTag } from "@idgen/protocol/http"
import { Console, Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Admin from "../Admin.ts"
import * as FlagValue from "../FlagValue.ts"
import { printJson, printTable } from "../Output.ts"
import { idgen } from "../Root.ts"
import * as TagPath from "../TagPath.ts"

const pathArg = Argument.String("tag").pipe(
  Argument.withDescription("workspace/group/biz_tag"),
  FlagValue.parsed(TagPath.fromText)
)

const algorithm = Flag.Literals("algorithm", Names.Algorithm.literals).pipe(
  Flag.withAlias("a"),
  Flag.withDescription("segment, snowflake, uuid_v7, uuid_v4 or formatted")
)
const settings = {
  fallback: Flag.String("fallback").pipe(
    Flag.withDescription("Comma-separated algorithms tried in order when the primary one cannot issue (empty: none)"),
    FlagValue.parsed(FlagValue.algorithms),
    Flag.optional
  ),
  step: Flag.Int("step").pipe(
    Flag.withDescription("Base step of segment allocation (at least 1)"),
    FlagValue.parsed(FlagValue.contract((http) => http.CreateBizTagRequest.fields.step)),
    Flag.optional
  ),
  template: Flag.String("template").pipe(
    Flag.withDescription("Format template, e.g. INV{YYYYMMDD}{SEQ:6} (algorithm formatted)"),
    Flag.optional
  )
}

const body = (input: {
  readonly fallback: Option.Option<ReadonlyArray<Names.Algorithm>>
  readonly step: Option.Option<number>
  readonly template: Option.Option<string>
}) => Admin.given({ fallback: input.fallback, step: input.step, format_template: input.template })

const tagParams = (path: TagPath.TagPath) => ({ ws: path.workspace, group: path.group, name: path.name })

const describeTag = (tag: typeof BizTag.Type) =>
  `${tag.workspace}/${tag.group}/${tag.name}: ${tag.algorithm}` +
  (tag.fallback.length > 0 ? ` (fallback ${tag.fallback.join(", ")})` : "") +
  `, step ${tag.step}` + (tag.format_template === null ? "" : `, template ${tag.format_template}`)

const create = Command.make("create", { path: pathArg, algorithm, ...settings }, (input) =>
  Effect.gen(function*() {
    const root = yield* idgen
    const path = input.path
    const created = yield* Admin.call((admin) =>
      admin.admin.createBizTag({
        params: { ws: path.workspace },
        payload: { group: path.group, name: path.name, algorithm: input.algorithm, ...body(input) }
      })
    )
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
  workspace: Argument.String("workspace").pipe(
    Argument.withDescription("Workspace whose biz_tags to list"),
    FlagValue.parsed(FlagValue.name)
  )
}, (input) =>
  Effect.gen(function*() {
    const root = yield* idgen
    const tags = yield* Admin.call((admin) => admin.admin.listBizTags({ params: { ws: input.workspace } }))
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
    const path = input.path
    const payload = { ...Admin.given({ algorithm: input.algorithm }), ...body(input) }
    const updated = yield* Admin.call((admin) => admin.admin.updateBizTag({ params: tagParams(path), payload }))
    if (root.json) return yield* printJson(updated)
    yield* Console.log(`updated ${describeTag(updated)}`)
  })).pipe(
  Command.withDescription("Change a biz_tag's algorithm, fallback chain, step or template"),
  Command.withExamples([{ command: "idgen tag update shop/orders/order-id --step 5000", description: "larger segments for a busy tag" }])
)

const remove = Command.make("delete", { path: pathArg }, (input) =>
  Effect.gen(function*() {
    const root = yield* idgen
    const path = input.path
    yield* Admin.call((admin) => admin.admin.deleteBizTag({ params: tagParams(path) }))
    if (root.json) return yield* printJson({ deleted: path.text })
    yield* Console.log(`deleted ${path.text} (its numbers are never issued again)`)
  })).pipe(
  Command.withDescription("Delete a biz_tag: it answers 404 on every node; its numbers are never reused"),
  Command.withExamples([{ command: "idgen tag delete shop/orders/old-id", description: "retire a biz_tag" }])
)

export const tag = Command.make("tag").pipe(
  Command.withDescription("Manage biz_tags (needs the admin token)"),
  Command.withSubcommands([create, list, update, remove])
)
