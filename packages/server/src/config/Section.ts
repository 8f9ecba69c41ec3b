/**
 * A section of the configuration (`[http]`, `[segment]`, …) as one Effect Schema: from the
 * file's table (snake_case keys, each optional with its default) to the object the code
 * reads (camelCase, groups nested), with the section's cross-field rules (`finish`). Also
 * the flat list of its settings, from which the environment variables, the reload rules,
 * the README reference and the example file are derived.
 */
import { Effect, Schema, SchemaIssue, SchemaTransformation } from "effect"
import * as Environment from "./Environment.ts"
import { withDefault } from "./SchemaHelpers.ts"
import type * as Setting from "./Setting.ts"
import * as Tables from "./Tables.ts"

/** One setting of a section with where it lives: file keys, the code's keys, its variable. */
export interface Entry {
  /** From the top of the file: `["segment", "l1_capacity"]`. */
  readonly file: ReadonlyArray<string>
  /** From the top of `ServerConfigShape`: `["segment", "l1", "capacity"]`. */
  readonly code: ReadonlyArray<string>
  readonly variable: string
  readonly setting: Setting.Setting
  /** Parses the variable's text into the file value. */
  readonly parse: (s: string) => unknown
}

/** A problem `finish` found; `key` (a file key of the section) names the setting. */
export interface Problem {
  readonly key?: string
  readonly message: string
}

/** What `finish` returns for a section it refuses. */
export interface Refused {
  readonly _tag: "Refused"
  readonly problems: ReadonlyArray<Problem>
}

export const refuse = (...problems: ReadonlyArray<Problem>): Refused => ({ _tag: "Refused", problems })

const isRefused = (u: unknown): u is Refused => typeof u === "object" && u !== null && (u as Refused)._tag === "Refused"

export interface Section<Name extends string = string, A = unknown> {
  /** The file's table name (`rate_limit`). */
  readonly name: Name
  /** The key in `ServerConfigShape` (`rateLimit`). */
  readonly key: string
  /** The file's table (absent: `{}`) → what the code reads. */
  readonly schema: Schema.Codec<A, Record<string, unknown>>
  readonly entries: ReadonlyArray<Entry>
}

type Leaf = { readonly file: ReadonlyArray<string>; readonly code: ReadonlyArray<string>; readonly setting: Setting.Setting }

const leaves = (fields: Setting.Fields, file: ReadonlyArray<string>, code: ReadonlyArray<string>, prefix = ""): Array<Leaf> =>
  Object.entries(fields).flatMap(([name, field]): Array<Leaf> =>
    field._tag !== "Group"
      ? [{ file: [...file, prefix + field.key], code: [...code, name], setting: field }]
      : field.flat
      ? leaves(field.fields, file, [...code, name], prefix + field.key)
      : leaves(field.fields, [...file, prefix + field.key], [...code, name])
  )

/** The file's table: keys as in the file, each with its default. */
const fileFields = (fields: Setting.Fields, prefix = ""): Schema.Struct.Fields =>
  Object.fromEntries(Object.values(fields).flatMap((field) =>
    field._tag === "Group"
      ? field.flat
        ? Object.entries(fileFields(field.fields, prefix + field.key))
        : [[prefix + field.key, withDefault(Schema.Struct(fileFields(field.fields)), {})]]
      : [[prefix + field.key, field._tag === "WithDefault" ? withDefault(field.schema, field.default) : Schema.optional(field.schema)]]
  ))

/** Moves every leaf from one layout to the other (unset optional values stay out of the file). */
const move = (ls: ReadonlyArray<Leaf>, from: "file" | "code", to: "file" | "code") => (table: Tables.Table): Tables.Table => {
  const out: Tables.Table = {}
  for (const leaf of ls) {
    const value = Tables.get(table, leaf[from])
    if (value !== undefined || to === "code") Tables.set(out, leaf[to], value)
  }
  return out
}

const issueOf = (ast: Schema.Top["ast"], problems: ReadonlyArray<Problem>, input: unknown): SchemaIssue.Issue => {
  const issues = problems.map((p) => {
    const issue = new SchemaIssue.InvalidValue({ message: p.message })
    return p.key === undefined ? issue : new SchemaIssue.Pointer(p.key.split("."), issue)
  })
  return issues.length === 1 ? issues[0]! : new SchemaIssue.Composite(ast, issues as never, input)
}

/**
 * The section `name` with these settings. `finish` computes defaults that depend on other
 * settings and checks rules across them; it keeps the keys (the reload compares them) and
 * returns either the section or `refuse(...)` with its problems, all of them.
 */
export const make = <const Name extends string, const F extends Setting.Fields, A = Setting.Decoded<F>>(
  name: Name,
  fields: F,
  finish?: (decoded: Setting.Decoded<F>) => A
): Section<Name, Exclude<A, Refused>> => {
  const ls = leaves(fields, [], [])
  const key = name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())
  const table = Schema.Struct(fileFields(fields))
  const decoded = table.pipe(Schema.decodeTo(
    Schema.declare((u): u is Setting.Decoded<F> => Tables.isTable(u)),
    SchemaTransformation.transform({ decode: move(ls, "file", "code") as never, encode: move(ls, "code", "file") as never })
  ))
  const finished = finish === undefined ? decoded : decoded.pipe(Schema.decodeTo(
    Schema.declare((u): u is A => Tables.isTable(u)),
    SchemaTransformation.transformEffect({
      decode: (value: Setting.Decoded<F>) => {
        const result = finish(value)
        return isRefused(result) ? Effect.fail(issueOf(table.ast, result.problems, value)) : Effect.succeed(result)
      },
      // `finish` keeps the keys and the types of the file's values.
      encode: (value: A) => Effect.succeed(value as unknown as Setting.Decoded<F>)
    })
  ))
  return {
    name,
    key,
    schema: withDefault(finished as unknown as Schema.Codec<A, Record<string, unknown>>, {}) as never,
    entries: ls.map((leaf) => {
      const file = [name, ...leaf.file]
      return {
        file,
        code: [key, ...leaf.code],
        variable: Environment.variableOf(file),
        setting: leaf.setting,
        parse: Environment.parser(leaf.setting)
      }
    })
  }
}
