/**
 * Refresh-ahead for the request path's caches (verified API keys, biz_tags): an entry in use
 * past half its lifetime is read again in the background, once. Under steady traffic no
 * request then waits for the database when it expires, and the requests in flight at that
 * moment do not all read it at once.
 */
export interface RefreshAhead {
  /** From when a use reads the entry again (Unix ms). */
  readonly refreshAt: number
  /** A background read was started for this entry (at most one per entry). */
  refreshing: boolean
}

/** The refresh fields of an entry read at `now` and kept for `lifetimeMillis`. */
export const refreshAhead = (now: number, lifetimeMillis: number): RefreshAhead => ({
  refreshAt: now + lifetimeMillis / 2,
  refreshing: false
})

/** True once per entry: when a use at `now` is due to start its background read. */
export const claimRefresh = (entry: RefreshAhead, now: number): boolean => {
  if (entry.refreshing || now < entry.refreshAt) return false
  entry.refreshing = true
  return true
}
