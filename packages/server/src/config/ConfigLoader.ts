/**
 * Loads the node's configuration: defaults, overlaid by the TOML file named in
 * `IDGEN_CONFIG`, overlaid by environment variables, overlaid by runtime changes; decoded
 * by the sections' schemas once, so a bad configuration stops the process (or is refused
 * on reload) with every problem listed.
 */
import { Effect, Exit, Layer, Schema } from "effect"
import { readFileSync } from "node:fs"
import { parse as parseToml } from "smol-toml"
import { withAdminToken } from "./AdminTokenBootstrap.ts"
import { ConfigInvalid } from "./ConfigInvalid.ts"
import * as ConfigProblems from "./ConfigProblems.ts"
import * as Environment from "./Environment.ts"
import { entries, FileSchema, sections, ServerConfig, type ServerConfigShape } from "./ServerConfig.ts"
import { epochMillis } from "./sections/Snowflake.ts"
import * as Tables from "./Tables.ts"

/**
 * A rule over the effective configuration that a feature outside config/ owns (the alert
 * rules' expressions): problems, each naming the setting; none when it holds.
 */
export type Check = (config: ServerConfigShape) => ReadonlyArray<string>

type Table = Tables.Table

const readFile = (path: string) =>
  Effect.try({
    try: () => parseToml(readFileSync(path, "utf8")) as Table,
    catch: (cause) => new ConfigInvalid({ message: `cannot read config file ${path}: ${String(cause)}` })
  })

/** The environment's settings in file form, and what could not be read. */
const fromEnvironment = (env: Record<string, string | undefined>) => {
  const values: Table = {}
  const problems: Array<string> = []
  for (const entry of entries) {
    const read = Environment.read(env, entry.variable, entry.setting, entry.parse)
    if (read._tag === "Problem") problems.push(read.message)
    if (read._tag !== "Value") continue
    Tables.set(values, entry.file, read.value)
  }
  return { values, problems }
}

const sectionNames = new Set(Object.values(sections).map((s) => s.name))
const decode = Schema.decodeUnknownExit(FileSchema, { errors: "all", onExcessProperty: "error" })

/** An epoch as configured: an ISO 8601 date or Unix milliseconds. */
export const parseEpoch = (epoch: string) => {
  const ms = epochMillis(epoch)
  return ms === undefined
    ? Effect.fail(new ConfigInvalid({ message: `snowflake.epoch (IDGEN_EPOCH): not a date or Unix ms: ${epoch}` }))
    : Effect.succeed(ms)
}

/**
 * The effective configuration from an environment (and the file it names), with `overrides`
 * (file form, from runtime changes) on top; `checks` add the rules of features outside config/.
 */
export const load = Effect.fnUntraced(function*(
  env: Record<string, string | undefined>,
  overrides: Table = {},
  checks: ReadonlyArray<Check> = []
) {
  const file = env.IDGEN_CONFIG ? yield* readFile(env.IDGEN_CONFIG) : {}
  const environment = fromEnvironment(env)
  const input = Tables.mergeDeep(Tables.mergeDeep(file, environment.values), overrides)
  const decoded = decode(input)
  const problems = Exit.isSuccess(decoded)
    ? [...environment.problems, ...checks.flatMap((check) => check(decoded.value))]
    : [
      ...environment.problems,
      ...decoded.cause.reasons.flatMap((reason) =>
        reason._tag === "Fail" ? ConfigProblems.lines(entries, sectionNames, reason.error.issue, input) : []
      )
    ]
  if (problems.length > 0 || Exit.isFailure(decoded)) {
    return yield* new ConfigInvalid({ message: ConfigProblems.message(problems) })
  }
  return decoded.value
})

/** The configuration of this process, from `process.env`. */
export const layerFromEnv = (checks: ReadonlyArray<Check> = []) =>
  Layer.effect(ServerConfig, Effect.flatMap(load(process.env, {}, checks), withAdminToken))
