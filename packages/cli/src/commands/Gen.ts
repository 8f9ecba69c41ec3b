/**
 * `idgen gen <workspace/group/biz_tag> [-n N]`: N IDs, one per line (batches of up to 10 000
 * over the Effect RPC client).
 */
import { Console, Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as FlagValue from "../FlagValue.ts"
import { withDefault } from "../FlagDefault.ts"
import { printJson } from "../Output.ts"
import { idgen } from "../Root.ts"
import * as Sdk from "../Sdk.ts"
import * as TagPath from "../TagPath.ts"

export const gen = Command.make("gen", {
  tag: Argument.String("tag").pipe(Argument.withDescription("workspace/group/biz_tag"), FlagValue.parsed(TagPath.fromText)),
  count: Flag.Int("count").pipe(
    Flag.withAlias("n"),
    FlagValue.parsed(FlagValue.intIn(1)),
    withDefault("How many IDs", 1)
  )
}, (input) =>
  Effect.scoped(Effect.gen(function*() {
    const root = yield* idgen
    const client = yield* Sdk.client(root)
    const ids: Array<string> = []
    let algorithm = ""
    for (let left = input.count; left > 0;) {
      const batch = yield* client.batch(input.tag.text, Math.min(left, 10_000))
      algorithm = batch.algorithm
      left -= batch.ids.length
      if (root.json) ids.push(...batch.ids)
      else yield* Console.log(batch.ids.join("\n"))
    }
    if (root.json) yield* printJson({ ids, algorithm, count: ids.length })
  }))).pipe(
  Command.withDescription("Generate IDs of a biz_tag (needs an API key)"),
  Command.withExamples([{ command: "idgen gen shop/orders/order-id -n 5", description: "five IDs, one per line" }])
)
