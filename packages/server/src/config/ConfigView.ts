/**
 * The configuration in the file's form, for people (`idgen config`): the effective values
 * (defaults, file, environment) with every secret redacted, or the defaults alone.
 */
import { Schema } from "effect"
import { stringify } from "smol-toml"
import { entries, FileSchema, type ServerConfigShape } from "./ServerConfig.ts"
import * as Tables from "./Tables.ts"

type Table = Tables.Table

export const redactedText = "<redacted>"

const redact = (value: unknown): unknown =>
  typeof value === "object" && value !== null && !Array.isArray(value)
    ? Object.fromEntries(Object.keys(value).map((k) => [k, redactedText]))
    : redactedText

const encode = Schema.encodeSync(FileSchema)

const secretPaths = entries.filter((e) => e.setting.secret).flatMap((e) => [e.code.join("."), e.file.join(".")])

/** Whether this dotted path (of `ServerConfigShape` or of the file) is a secret or lies inside one. */
export const isSecret = (path: string): boolean => secretPaths.some((p) => path === p || path.startsWith(`${p}.`))

/** The effective configuration in file form; secrets redacted (table values each), unset keys absent. */
export const effective = (config: ServerConfigShape): Table => {
  const table = encode(config)
  for (const entry of entries) {
    const value = Tables.get(table, entry.file)
    if (entry.setting.secret && value !== undefined) Tables.set(table, entry.file, redact(value))
  }
  return table
}

/**
 * The effective configuration as the operator API shows it: the file's form and names (as
 * `PATCH` takes them), secrets redacted, unset settings null so that every one is listed.
 */
export const effectiveWithUnset = (config: ServerConfigShape): Table => {
  const table = effective(config)
  for (const entry of entries) if (Tables.get(table, entry.file) === undefined) Tables.set(table, entry.file, null)
  return table
}

/** Every default in file form; settings unset by default are absent. */
export const defaults = (): Table => {
  const table: Table = {}
  for (const entry of entries) if (entry.setting._tag === "WithDefault") Tables.set(table, entry.file, entry.setting.default)
  return table
}

export const toToml = (table: Table): string => stringify(table)
