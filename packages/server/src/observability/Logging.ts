/**
 * The node's logger: `log.format` (Effect's default text line, logfmt, json for log
 * shippers, pretty for humans) with `log.level` read per line from `LiveConfig`, so a reload changes the level
 * of every fiber at once. (Effect's `MinimumLogLevel` is captured in each fiber's context;
 * it is opened fully here and the filtering happens in the logger.)
 */
import { Effect, Layer, Logger, type LogLevel, References } from "effect"
import { LiveConfig } from "../config/HotReload.ts"
import type { LogLevel as ConfigLogLevel } from "../config/sections/Log.ts"
import type { ServerConfigShape } from "../config/ServerConfig.ts"

const levels: Record<ConfigLogLevel, LogLevel.LogLevel> = {
  trace: "Trace",
  debug: "Debug",
  info: "Info",
  warning: "Warn",
  error: "Error",
  fatal: "Fatal",
  none: "None"
}

/** Effect's level for a config level name. */
export const toLogLevel = (level: ConfigLogLevel): LogLevel.LogLevel => levels[level]

export const layer: Layer.Layer<never, never, LiveConfig> = Layer.unwrap(
  Effect.map(LiveConfig, (live) => layerWith(live.current().log.format, () => live.current().log.level))
)

/** Lines in `format`, at `level()` and above (read per line). Also the logger of a cluster's primary. */
export const layerWith = (format: ServerConfigShape["log"]["format"], level: () => ConfigLogLevel): Layer.Layer<never> => {
  const output = format === "json"
    ? Logger.consoleJson
    : format === "logfmt"
    ? Logger.consoleLogFmt
    : format === "pretty"
    ? Logger.consolePretty()
    : Logger.defaultLogger
  const ordinal = (logLevel: LogLevel.LogLevel) => levelOrder.indexOf(logLevel)
  const filtered = Logger.make((options) => {
    const minimum = levels[level()]
    if (minimum !== "None" && ordinal(options.logLevel) >= ordinal(minimum)) output.log(options)
  })
  return Layer.mergeAll(Logger.layer([filtered]), Layer.succeed(References.MinimumLogLevel, "All"))
}

const levelOrder: ReadonlyArray<LogLevel.LogLevel> = ["All", "Trace", "Debug", "Info", "Warn", "Error", "Fatal", "None"]
