/**
 * The per-datacenter number ranges of segment mode. Datacenter `d` owns
 * `[d*R + 1, (d+1)*R]`, so datacenters never need to coordinate to stay unique.
 *
 * All values stay JS numbers: with 8 datacenters the largest value is 8R, and an R is
 * accepted only when 8R ≤ Number.MAX_SAFE_INTEGER, so every ID is an exact integer.
 */
import { Result, Schema } from "effect"
import { InvalidRequest } from "../Errors.ts"
import { DatacenterId, MAX_DATACENTER_ID } from "../snowflake/Layout.ts"

/** The datacenters of the contract's layout (3 bits, shared with snowflake IDs). */
export const DATACENTER_COUNT = MAX_DATACENTER_ID + 1

/** The largest R whose eight ranges all stay exact JS integers: 2^50 - 1. */
export const MAX_RANGE_SIZE = Math.floor(Number.MAX_SAFE_INTEGER / DATACENTER_COUNT)

/**
 * The default R: the largest one, about 3,500 years of 10 k IDs/s per biz_tag and
 * datacenter (10^10, the old default, lasted 12 days at that rate).
 */
export const DEFAULT_RANGE_SIZE = MAX_RANGE_SIZE

export const RangeSize = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: MAX_RANGE_SIZE }))

/** An inclusive range `[start, end]`. */
export interface Range {
  readonly start: number
  readonly end: number
}

const isDatacenterId = Schema.is(DatacenterId)
const isRangeSize = Schema.is(RangeSize)

export const validateDatacenterId = (datacenterId: number): Result.Result<number, InvalidRequest> =>
  isDatacenterId(datacenterId)
    ? Result.succeed(datacenterId)
    : Result.fail(
      new InvalidRequest({
        message: `datacenter id must be an integer in 0..${MAX_DATACENTER_ID}`,
        details: { datacenter_id: datacenterId }
      })
    )

export const validateRangeSize = (rangeSize: number): Result.Result<number, InvalidRequest> =>
  isRangeSize(rangeSize)
    ? Result.succeed(rangeSize)
    : Result.fail(
      new InvalidRequest({
        message: `range size must be an integer in 1..${MAX_RANGE_SIZE} (8 ranges must stay below 2^53)`,
        details: { range_size: rangeSize }
      })
    )

/** The range datacenter `datacenterId` owns. */
export const rangeOf = (
  datacenterId: number,
  rangeSize: number = DEFAULT_RANGE_SIZE
): Result.Result<Range, InvalidRequest> =>
  Result.flatMap(validateDatacenterId(datacenterId), (dc) => Result.map(validateRangeSize(rangeSize), (r) => rangeAt(dc, r)))

/** `rangeOf` for a datacenter id and R already validated (configuration, a checked input). */
export const rangeAt = (datacenterId: number, rangeSize: number): Range => ({
  start: datacenterId * rangeSize + 1,
  end: (datacenterId + 1) * rangeSize
})

/**
 * The datacenter whose range holds `value`, or `undefined` when no range holds it
 * (not a positive integer, or above 8R). `rangeSize` is assumed valid.
 */
export const datacenterOf = (value: number, rangeSize: number = DEFAULT_RANGE_SIZE): number | undefined =>
  Number.isSafeInteger(value) && value >= 1 && value <= DATACENTER_COUNT * rangeSize
    ? Math.floor((value - 1) / rangeSize)
    : undefined

/** Whether `value` lies in `range`. */
export const contains = (range: Range, value: number): boolean => value >= range.start && value <= range.end
