/**
 * The root `idgen` command and the flags every subcommand shares (server, credentials,
 * `--json`); subcommands read them with `yield* idgen`.
 */
import { Command } from "effect/cli"
import { shared } from "./Connection.ts"

export const idgen = Command.make("idgen").pipe(
  Command.withSharedFlags(shared),
  Command.withDescription("idgen: distributed ID generation — server, operator tasks, IDs and benchmarks")
)
