/**
 * The reserved timestamp ceiling of a worker id: the highest timestamp its holder may
 * issue with, written *before* the holder uses it — to `{worker key}/ceiling` for an
 * etcd-leased id, to its `snowflake_workers` row for a static one.
 * A crash therefore never loses a timestamp that was issued, and whoever acquires the id
 * next starts strictly above the ceiling — whatever its clock says.
 *
 * The ceiling outlives every holder. The holder keeps the reservation a
 * window ahead of its clock (extending it when less than half the window is left); on a
 * graceful release it records the highest timestamp actually issued instead, so a quick
 * restart does not wait out the unused reservation.
 *
 * Pure decisions only; the writes are in `EtcdWorkerRegistry` and `SnowflakeWorkerRepo`.
 */

/** The stored form: decimal Unix milliseconds. */
export const encode = (ceilingMs: number): string => String(ceilingMs)

/**
 * Parses a stored ceiling. `undefined` when the value is not a non-negative integer:
 * such an id cannot be used safely (nobody knows what was issued with it).
 */
export const decode = (text: string): number | undefined =>
  /^(0|[1-9][0-9]{0,15})$/.test(text) ? Number(text) : undefined

/** True when the reservation should be extended: less than half the window is left. */
export const needsExtension = (ceilingMs: number, nowMs: number, windowMs: number): boolean =>
  ceilingMs - nowMs < windowMs / 2

/** The next reservation: a window ahead of the clock, never below the current one. */
export const extended = (ceilingMs: number, nowMs: number, windowMs: number): number =>
  Math.max(ceilingMs, nowMs + windowMs)
