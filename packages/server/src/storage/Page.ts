/**
 * Keyset paging for the operator API's newer lists (`limit`, `cursor` → `next_cursor`): a
 * cursor names the last row of a page by its sort key — a timestamp in the database's own
 * microsecond text, so the next page starts exactly after it — and its id. Opaque to
 * clients (base64url JSON); a cursor that does not decode is the caller's error.
 */
export interface Cursor {
  /** `YYYY-MM-DDTHH:MM:SS.ffffffZ`, as `timestampText` selects it. */
  readonly at: string
  readonly id: string
}

export interface PageRequest {
  readonly limit: number
  readonly after: Cursor | undefined
}

export interface Page<A> {
  readonly items: ReadonlyArray<A>
  /** The cursor of the next page; null on the last one. */
  readonly next: Cursor | null
}

/** SQL selecting column `column` as a cursor's `at`. */
export const timestampText = (column: string) =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`

const atFormat = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/

export const encode = (cursor: Cursor): string => Buffer.from(JSON.stringify([cursor.at, cursor.id])).toString("base64url")

/** The cursor in `text`, its id matching `idFormat`; undefined when it is not one of ours. */
export const decode = (text: string, idFormat: RegExp): Cursor | undefined => {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, "base64url").toString("utf8"))
    if (!Array.isArray(value) || value.length !== 2) return undefined
    const [at, id] = value
    return typeof at === "string" && atFormat.test(at) && typeof id === "string" && idFormat.test(id) ? { at, id } : undefined
  } catch {
    return undefined
  }
}

/** A page from `rows` fetched with `limit + 1`: the extra row only says there is more. */
export const fromRows = <Row extends { readonly cursor_at: string; readonly id: string }, A>(
  rows: ReadonlyArray<Row>,
  limit: number,
  toItem: (row: Row) => A
): Page<A> => {
  const items = rows.slice(0, limit)
  const last = items[items.length - 1]
  return {
    items: items.map(toItem),
    next: rows.length > limit && last !== undefined ? { at: last.cursor_at, id: last.id } : null
  }
}
