/**
 * The settings every node of a cluster must share — the snowflake epoch, the segment range
 * size R and the ID layout version — and the rules that decide whether a set of them is
 * safe. Pinned in the database (`PinnedSettings.ts`); these are the pure parts.
 *
 * Why they must agree: two nodes with different R hand out overlapping segment ranges, two
 * with different epochs compose colliding snowflake IDs — both silently.
 */
import { DatacenterRange, Snowflake } from "@idgen/core"

/**
 * The ID layout this build issues: the snowflake bit fields and the segment datacenter
 * ranges. A build that changes either bumps it, so that it cannot share a database with
 * nodes that still issue the old layout.
 */
export const ID_LAYOUT_VERSION = 1

export interface ClusterSettings {
  readonly epochMs: number
  readonly rangeSize: number
  readonly layoutVersion: number
}

const describeEpoch = (ms: number) => `${new Date(ms).toISOString()} (${ms})`

/** Each setting with the names an operator knows it by, and how its value is shown. */
const settings: ReadonlyArray<{
  readonly name: string
  readonly get: (s: ClusterSettings) => number
  readonly show: (value: number) => string
}> = [
  { name: "snowflake.epoch (IDGEN_EPOCH)", get: (s) => s.epochMs, show: describeEpoch },
  { name: "segment.range_size (IDGEN_SEGMENT_RANGE_SIZE)", get: (s) => s.rangeSize, show: String },
  { name: "ID layout version (of this build)", get: (s) => s.layoutVersion, show: String }
]

/** One line per setting that differs, naming it with the stored value and this node's own. */
export const differences = (stored: ClusterSettings, own: ClusterSettings): Array<string> =>
  settings.flatMap(({ get, name, show }) =>
    get(stored) === get(own) ? [] : [`${name}: stored ${show(get(stored))}, own ${show(get(own))}`]
  )

/**
 * The instant from which every snowflake ID of `epochMs` lies above `segmentCeiling`:
 * the smallest ID of millisecond t is `(t - epoch) << 21`.
 */
export const snowflakeClearsAt = (epochMs: number, segmentCeiling: number): number =>
  epochMs + Math.floor(segmentCeiling / 2 ** Snowflake.TIMESTAMP_SHIFT) + 1

/**
 * Why `epochMs` cannot be used at `nowMs` with segment IDs up to `segmentCeiling` (8R, or
 * a row's end created under a larger R), or undefined when it can: a biz_tag that falls
 * back from segment to snowflake must never issue a number its segments issue too.
 */
export const separationProblem = (
  epochMs: number,
  rangeSize: number,
  segmentCeiling: number,
  nowMs: number
): string | undefined => {
  const clearsAt = snowflakeClearsAt(epochMs, segmentCeiling)
  if (nowMs >= clearsAt) return undefined
  const elapsed = nowMs - epochMs
  // The largest R whose 8 ranges stay below the smallest snowflake ID of this millisecond.
  const safeRange = elapsed <= 0 ? 0 : Math.min(
    DatacenterRange.MAX_RANGE_SIZE,
    Math.floor((elapsed * 2 ** Snowflake.TIMESTAMP_SHIFT - 1) / DatacenterRange.DATACENTER_COUNT)
  )
  return [
    epochMs > nowMs
      ? `snowflake.epoch ${describeEpoch(epochMs)} is in the future`
      : `snowflake.epoch ${describeEpoch(epochMs)} is too recent for segment.range_size ${rangeSize}`,
    `: snowflake IDs ((ms since the epoch) << ${Snowflake.TIMESTAMP_SHIFT}) stay within the segment ID space`,
    ` (up to ${segmentCeiling}) until ${new Date(clearsAt).toISOString()},`,
    " so a biz_tag falling back from segment to snowflake could issue a number twice;",
    ` use an earlier epoch${safeRange >= 1 ? ` or a range size of at most ${safeRange}` : ""}`
  ].join("")
}

/**
 * Why the epoch cannot move from `fromMs` to `toMs`, or undefined. Moving it later makes
 * the IDs of every moment since the old epoch come round again: IDs already issued would
 * be issued a second time. Moving it earlier only makes new IDs larger.
 */
export const epochMoveProblem = (fromMs: number, toMs: number): string | undefined =>
  toMs > fromMs
    ? `moving snowflake.epoch forward (from ${describeEpoch(fromMs)} to ${describeEpoch(toMs)}) would issue ` +
      "the timestamps of IDs already issued again; only an earlier epoch is safe"
    : undefined

/** A row of `segments` whose range a new row under another R would overlap. */
export interface RowCollision {
  readonly bizTagId: string
  readonly datacenterId: number
  readonly rangeStart: number
  readonly rangeEnd: number
  /** The datacenter without a row yet whose new range would overlap it. */
  readonly newDatacenterId: number
}

export const collisionProblem = (rangeSize: number, c: RowCollision): string =>
  `segment.range_size ${rangeSize} would give datacenter ${c.newDatacenterId} the range ` +
  `[${DatacenterRange.rangeAt(c.newDatacenterId, rangeSize).start}, ${
    DatacenterRange.rangeAt(c.newDatacenterId, rangeSize).end
  }], which overlaps the range ` +
  `[${c.rangeStart}, ${c.rangeEnd}] datacenter ${c.datacenterId} of biz_tag ${c.bizTagId} already issues from`
