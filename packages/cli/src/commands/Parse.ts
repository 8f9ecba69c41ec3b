/**
 * `idgen parse <id> [--tag workspace/group/biz_tag]`: what an ID encodes.
 */
import { Console, Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as FlagValue from "../FlagValue.ts"
import { printJson } from "../Output.ts"
import { idgen } from "../Root.ts"
import * as Sdk from "../Sdk.ts"
import * as TagPath from "../TagPath.ts"

export const parse = Command.make("parse", {
  id: Argument.String("id").pipe(Argument.withDescription("The ID to decode")),
  tag: Flag.String("tag").pipe(
    Flag.withAlias("t"),
    Flag.withDescription("workspace/group/biz_tag, for segment and formatted IDs"),
    FlagValue.parsed(TagPath.fromText),
    Flag.optional
  )
}, (input) =>
  Effect.scoped(Effect.gen(function*() {
    const root = yield* idgen
    const client = yield* Sdk.client(root)
    const info = yield* client.parse(input.id, Option.getOrUndefined(input.tag)?.text)
    if (root.json) return yield* printJson(info)
    const width = Math.max(...Object.keys(info).map((k) => k.length))
    yield* Console.log(Object.entries(info).map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n"))
  }))).pipe(
  Command.withDescription("Decode an ID: algorithm, timestamp, datacenter, worker, sequence… (needs an API key)"),
  Command.withExamples([
    { command: "idgen parse 7291858174394368000", description: "what a snowflake ID encodes" },
    { command: "idgen parse 1001 --tag shop/orders/order-id", description: "a segment ID, in its biz_tag's context" }
  ])
)
