/** The file's tables and the configuration's objects: plain records, read and written along key paths. */
export type Table = Record<string, unknown>

export const isTable = (u: unknown): u is Table => typeof u === "object" && u !== null && !Array.isArray(u)

/** The value at `path` (keys, array indices), undefined where the path leaves the tables. */
export const get = (table: unknown, path: ReadonlyArray<PropertyKey>): unknown =>
  path.reduce<unknown>((at, key) => (typeof at === "object" && at !== null ? (at as Table)[key as string] : undefined), table)

/** Writes `value` at `path` in place, creating the tables on the way. */
export const set = (table: Table, path: ReadonlyArray<string>, value: unknown): void => {
  let at = table
  for (const key of path.slice(0, -1)) at = (at[key] ??= {}) as Table
  at[path[path.length - 1]!] = value
}

/** A copy of `table` with `value` at `path` (the tables on the way copied, the rest shared). */
export const setIn = (table: unknown, path: ReadonlyArray<string>, value: unknown): unknown => {
  if (path.length === 0) return value
  const [key, ...rest] = path as [string, ...Array<string>]
  const at = table as Table
  return { ...at, [key]: setIn(at[key], rest, value) }
}

/**
 * Tables merged key by key (tables of tables too); anything else in `top` replaces.
 * How the environment lands on the file, and runtime changes on both.
 */
export const mergeDeep = (base: Table, top: Table): Table => {
  const out: Table = { ...base }
  for (const [key, value] of Object.entries(top)) {
    const below = out[key]
    out[key] = isTable(value) && isTable(below) ? mergeDeep(below, value) : value
  }
  return out
}
