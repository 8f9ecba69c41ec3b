/**
 * `Flag.withDefault` that also says the default in the help: Effect CLI's help shows a
 * flag's description but not its default.
 */
import { Flag } from "effect/cli"

export const withDefault = <A>(description: string, value: A, shown: string = String(value)) => (flag: Flag.Flag<A>): Flag.Flag<A> =>
  flag.pipe(Flag.withDescription(`${description} (default ${shown})`), Flag.withDefault(value))
