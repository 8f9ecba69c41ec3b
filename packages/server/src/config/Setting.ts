/**
 * One setting, declared once in its section (`sections/*.ts`): its key in the TOML file, the
 * schema of its value (file value → what the code reads, bounds included), its default,
 * whether it changes without a restart, whether it is a secret, and the line the README's
 * reference prints. Its environment variable is derived from the key (`Environment.ts`).
 */
import type { Schema } from "effect"

interface Declared<S extends Schema.Top> {
  /** The file key (snake_case). */
  readonly key: string
  readonly schema: S
  /** Takes effect without a restart (file reload, SIGHUP, operator API). */
  readonly live: boolean
  /** Redacted wherever the configuration is shown; also read from `<VARIABLE>_FILE`. */
  readonly secret: boolean
  readonly doc: string
}

/** A setting with a default (file form): the code reads `S["Type"]`. */
export interface WithDefault<S extends Schema.Top = Schema.Top> extends Declared<S> {
  readonly _tag: "WithDefault"
  readonly default: S["Encoded"]
}

/** A setting that may stay unset: the code reads `S["Type"] | undefined`. */
export interface Optional<S extends Schema.Top = Schema.Top> extends Declared<S> {
  readonly _tag: "Optional"
}

/**
 * Settings the code reads as one object: `flat` ones are keys of the section's own table
 * with a common prefix (`l1_capacity` → `l1.capacity`), the others a sub-table
 * (`[alerting.thresholds]`).
 */
export interface Group<F extends Fields = Fields> {
  readonly _tag: "Group"
  readonly key: string
  readonly flat: boolean
  readonly fields: F
}

export type Setting = WithDefault | Optional
export type Fields = { readonly [name: string]: Setting | Group }

/** What the code reads for these fields. */
export type Decoded<F extends Fields> = {
  readonly [K in keyof F]: F[K] extends WithDefault<infer S> ? S["Type"]
    : F[K] extends Optional<infer S> ? S["Type"] | undefined
    : F[K] extends Group<infer G> ? Decoded<G>
    : never
}

interface Options {
  readonly live?: boolean
  readonly secret?: boolean
  readonly doc: string
}

export const make = <S extends Schema.Top>(
  key: string,
  schema: S,
  options: Options & { readonly default: S["Encoded"] }
): WithDefault<S> => ({
  _tag: "WithDefault",
  key,
  schema,
  default: options.default,
  live: options.live ?? false,
  secret: options.secret ?? false,
  doc: options.doc
})

export const optional = <S extends Schema.Top>(key: string, schema: S, options: Options): Optional<S> => ({
  _tag: "Optional",
  key,
  schema,
  live: options.live ?? false,
  secret: options.secret ?? false,
  doc: options.doc
})

/** Keys `${prefix}${key}` of the section's table, read as one object. */
export const prefixed = <const F extends Fields>(prefix: string, fields: F): Group<F> => ({
  _tag: "Group",
  key: prefix,
  flat: true,
  fields
})

/** A sub-table of the section (`[section.key]`). */
export const table = <const F extends Fields>(key: string, fields: F): Group<F> => ({
  _tag: "Group",
  key,
  flat: false,
  fields
})
