/**
 * `idgen`: the command line of idgen (Effect CLI). `npx idgen --help` lists the commands.
 */
// Deep imports: the package's barrel loads every platform module (Redis client included),
// which alone cost more CPU than the rest of `idgen --help`.
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { EXIT_CONFIG } from "@idgen/server/config/ConfigInvalid"
import { Cause, Console, Effect } from "effect"
import { Command } from "effect/cli"
import { describe } from "./CliFailure.ts"
import { audit } from "./commands/Audit.ts"
import { bench } from "./commands/Bench.ts"
import { cluster } from "./commands/Cluster.ts"
import { config } from "./commands/Config.ts"
import { gen } from "./commands/Gen.ts"
import { key } from "./commands/Key.ts"
import { migrate } from "./commands/Migrate.ts"
import { parse } from "./commands/Parse.ts"
import { serve, teardown } from "./commands/Serve.ts"
import { tag } from "./commands/Tag.ts"
import { workspace } from "./commands/Workspace.ts"
import { idgen } from "./Root.ts"
import * as UsageError from "./UsageError.ts"

const cli = idgen.pipe(
  Command.withSubcommands([serve, migrate, cluster, config, workspace, key, tag, audit, gen, parse, bench]),
  Command.run({ version: "0.1.0" })
)

cli.pipe(
  Effect.catchCause((cause) => {
    const failure = Cause.findErrorOption(cause)
    // A command line that could not be understood was already reported (UsageError's presenter).
    if (failure._tag === "Some" && UsageError.isUsageError(failure.value)) {
      return Effect.sync(() => process.exit(UsageError.EXIT_USAGE))
    }
    if (Cause.hasInterruptsOnly(cause)) return Effect.void
    const error = failure._tag === "Some" ? failure.value : Cause.squash(cause)
    // A configuration a node would refuse ends the command as it ends the node.
    const code = (error as { readonly _tag?: unknown })._tag === "ConfigInvalid" ? EXIT_CONFIG : 1
    return Console.error(`idgen: ${describe(error)}`).pipe(Effect.andThen(Effect.sync(() => process.exit(code))))
  }),
  Effect.provide([NodeServices.layer, UsageError.layer]),
  NodeRuntime.runMain({ teardown })
)
