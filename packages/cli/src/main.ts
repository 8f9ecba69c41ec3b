/**
 * `idgen`: the command line of idgen (Effect CLI). `npx idgen --help` lists the commands.
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Cause, Console, Effect } from "effect"
import { Command } from "effect/cli"
import { describe } from "./CliFailure.ts"
import { audit } from "./commands/Audit.ts"
import { bench } from "./commands/Bench.ts"
import { cluster } from "./commands/Cluster.ts"
import { gen } from "./commands/Gen.ts"
import { key } from "./commands/Key.ts"
import { migrate } from "./commands/Migrate.ts"
import { parse } from "./commands/Parse.ts"
import { serve } from "./commands/Serve.ts"
import { tag } from "./commands/Tag.ts"
import { workspace } from "./commands/Workspace.ts"
import { idgen } from "./Root.ts"

const cli = idgen.pipe(
  Command.withSubcommands([serve, migrate, cluster, workspace, key, tag, audit, gen, parse, bench]),
  Command.run({ version: "0.1.0", renderErrors: false })
)

cli.pipe(
  // Parse errors were already shown with the help; everything else is one line and exit 1.
  Effect.catchCause((cause) => {
    const failure = Cause.findErrorOption(cause)
    if (failure._tag === "Some" && (failure.value as { _tag?: string })._tag?.startsWith("~effect/cli")) {
      return Effect.sync(() => process.exit(2))
    }
    if (Cause.hasInterruptsOnly(cause)) return Effect.void
    const error = failure._tag === "Some" ? failure.value : Cause.squash(cause)
    return Console.error(`idgen: ${describe(error)}`).pipe(Effect.andThen(Effect.sync(() => process.exit(1))))
  }),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain
)
