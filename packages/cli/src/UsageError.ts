/**
 * Usage errors (clig.dev): a mistyped command, flag or value is one line on stderr saying
 * what is wrong, with "did you mean" when something close exists, and exit code 2. Help goes
 * to stdout only when asked for (`--help`); a command run without its subcommand gets its
 * help on stderr, as a usage error.
 */
import { Suggest } from "@idgen/core"
import { Console, Effect, Layer } from "effect"
import { CliError, CliOutput } from "effect/cli"

/** The exit code of a command line that could not be understood. */
export const EXIT_USAGE = 2

const didYouMean = (suggestions: ReadonlyArray<string>) =>
  suggestions.length === 0 ? "" : `; did you mean ${suggestions.map((s) => JSON.stringify(s)).join(" or ")}?`

/** One line per error, without the multi-line layout of Effect CLI's own messages. */
const describe = (error: CliError.NonShowHelpErrors): string => {
  switch (error._tag) {
    case "UnknownSubcommand":
      return `unknown command "${error.subcommand}" for "${(error.parent ?? ["idgen"]).join(" ")}"` +
        didYouMean(error.suggestions)
    case "UnrecognizedOption":
      return `unknown flag ${error.option}` + (error.command ? ` for "${error.command.join(" ")}"` : "") +
        didYouMean(error.suggestions)
    case "InvalidValue": {
      // Choices arrive as "a | b | c": suggest the nearest one.
      // A bad environment variable arrives as `SchemaError(Expected …\n  at ["NAME"])`.
      const variable = /at \["([A-Z0-9_]+)"\]/.exec(error.expected)?.[1]
      const expectation = error.expected.split("\n")[0]!.replace(/^SchemaError\(/, "").replace(/^Expected:?\s*/i, "")
      if (variable !== undefined) return `invalid ${variable} in the environment: expected ${expectation}`
      const choices = expectation.split(" | ").map((choice) => choice.replace(/^"(.*)"$/, "$1"))
      const expected = choices.length > 1 ? `one of ${choices.join(", ")}` : expectation
      const what = error.kind === "flag" ? `--${error.option}` : `<${error.option}>`
      return `invalid value ${JSON.stringify(error.value)} for ${what}: expected ${expected}` +
        (choices.length > 1 ? didYouMean(Suggest.closest(error.value, choices)) : "")
    }
    default: {
      const first = error.message.split("\n")[0]!
      return first.charAt(0).toLowerCase() + first.slice(1)
    }
  }
}

/** The line printed for a command line that could not be understood. */
export const line = (commandPath: ReadonlyArray<string>, errors: ReadonlyArray<CliError.NonShowHelpErrors>) =>
  `${commandPath[0] ?? "idgen"}: ${errors.map(describe).join("; ")} (see '${commandPath.join(" ")} --help')`

const presenter: CliOutput.Presenter = {
  present: Effect.fnUntraced(function*(event) {
    const formatter = yield* CliOutput.Formatter
    switch (event._tag) {
      case "Help":
        return yield* (event.reason === "Requested" ? Console.log : Console.error)(formatter.formatHelpDoc(event.helpDoc))
      case "InvalidInvocation":
        return yield* Console.error(line(event.commandPath, event.errors))
      case "Version":
        return yield* Console.log(formatter.formatVersion(event.name, event.version))
    }
  })
}

export const layer: Layer.Layer<never> = CliOutput.layerPresenter(presenter)

/** Whether `error` is Effect CLI's report of a command line it could not run (already shown). */
export const isUsageError = (error: unknown): boolean => CliError.isCliError(error) && error._tag === "ShowHelp"
