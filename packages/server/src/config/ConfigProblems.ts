/**
 * A refused configuration as one message listing every problem, each naming the setting
 * (file key), its environment variable and the value given (never a secret's).
 */
import { SchemaIssue } from "effect"
import type * as Section from "./Section.ts"
import * as Tables from "./Tables.ts"

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

const dotted = (path: ReadonlyArray<PropertyKey>) =>
  path.map((key, i) => (typeof key === "number" ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`)).join("")

const startsWith = (path: ReadonlyArray<PropertyKey>, prefix: ReadonlyArray<string>) =>
  prefix.length <= path.length && prefix.every((key, i) => path[i] === key)

/** One line per problem of a decoding of `input` (the merged file form). */
export const lines = (
  entries: ReadonlyArray<Section.Entry>,
  sectionNames: ReadonlySet<string>,
  issue: SchemaIssue.Issue,
  input: Tables.Table
): Array<string> =>
  formatIssues(issue).issues.map(({ message, path = [] }) => {
    const keys = path.map((p) => (typeof p === "object" && p !== null && "key" in p ? p.key : p)) as Array<PropertyKey>
    const entry = entries.find((e) => startsWith(keys, e.file))
    // A rule of the section as a whole names its settings itself.
    if (entry === undefined) return keys.length === 1 && sectionNames.has(String(keys[0])) ? message : `${dotted(keys)}: ${message}`
    const value = Tables.get(input, keys)
    const got = entry.setting.secret || value === undefined ? "" : `, got ${JSON.stringify(value)}`
    return `${dotted(keys)} (${entry.variable}): ${message}${got}`
  })

export const message = (problems: ReadonlyArray<string>) =>
  `invalid configuration:\n${problems.map((p) => `  ${p}`).join("\n")}`
