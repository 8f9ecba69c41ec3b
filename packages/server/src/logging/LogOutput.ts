/**
 * How a node writes its log lines: `log.format` (Effect's default text line, logfmt, json for
 * log shippers, pretty for humans) at the level `level()` returns, read per line so that a
 * reload changes the level of every fiber at once. (Effect's `MinimumLogLevel` is captured
 * in each fiber's context; it is opened fully here and the filtering happens in the logger.)
 *
 * No dependencies within the server: the configuration's own lines (`config/HotReload.ts`)
 * are written through it too, whatever fiber they are logged from.
 */
import { Effect, Layer, Logger, type LogLevel, References, Schema } from "effect"

export const Level = Schema.Literals(["trace", "debug", "info", "warning", "error", "fatal", "none"])
export type Level = typeof Level.Type

export const Format = Schema.Literals(["text", "logfmt", "json", "pretty"])
export type Format = typeof Format.Type

const levels: Record<Level, LogLevel.LogLevel> = {
  trace: "Trace",
  debug: "Debug",
  info: "Info",
  warning: "Warn",
  error: "Error",
  fatal: "Fatal",
  none: "None"
}

/** Effect's level for a config level name. */
export const toLogLevel = (level: Level): LogLevel.LogLevel => levels[level]

const levelOrder: ReadonlyArray<LogLevel.LogLevel> = ["All", "Trace", "Debug", "Info", "Warn", "Error", "Fatal", "None"]

/** The logger writing lines in `format` at `level()` and above. */
export const logger = (format: Format, level: () => Level): Logger.Logger<unknown, void> => {
  const output = format === "json"
    ? Logger.consoleJson
    : format === "logfmt"
    ? Logger.consoleLogFmt
    : format === "pretty"
    ? Logger.consolePretty()
    : Logger.defaultLogger
  const ordinal = (logLevel: LogLevel.LogLevel) => levelOrder.indexOf(logLevel)
  return Logger.make((options) => {
    const minimum = levels[level()]
    if (minimum !== "None" && ordinal(options.logLevel) >= ordinal(minimum)) output.log(options)
  })
}

/** Lines in `format`, at `level()` and above, for everything built on this layer. */
export const layer = (format: Format, level: () => Level): Layer.Layer<never> =>
  Layer.mergeAll(Logger.layer([logger(format, level)]), Layer.succeed(References.MinimumLogLevel, "All"))

/** Runs `self` with its lines in `format` at `level()`, whatever logger its caller's fiber has. */
export const through = (format: Format, level: () => Level) => {
  const loggers = new Set([logger(format, level)])
  return <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    self.pipe(Effect.provideService(Logger.CurrentLoggers, loggers), Effect.provideService(References.MinimumLogLevel, "All"))
}
