/**
 * The snowflake bit layout of the contract, and conversions between its parts,
 * `bigint` and the decimal string that travels on the wire.
 *
 * ```
 * 0 | timestamp 42 bits (ms since epoch) | datacenter_id 3 bits | worker_id 8 bits | sequence 10 bits
 * ```
 *
 * 63 bits are used, so an ID is always a non-negative signed 64-bit value (fits `int8`/`i64`).
 * IDs exceed 2^53 and must never pass through a JS `number`: they are `bigint` in code
 * and decimal strings on the wire.
 */
import { Result, Schema } from "effect"
import { InvalidRequest } from "../Errors.ts"

export const TIMESTAMP_BITS = 42
export const DATACENTER_BITS = 3
export const WORKER_BITS = 8
export const SEQUENCE_BITS = 10

export const WORKER_SHIFT = SEQUENCE_BITS // 10
export const DATACENTER_SHIFT = SEQUENCE_BITS + WORKER_BITS // 18
export const TIMESTAMP_SHIFT = SEQUENCE_BITS + WORKER_BITS + DATACENTER_BITS // 21

export const MAX_TIMESTAMP = 2 ** TIMESTAMP_BITS - 1
export const MAX_DATACENTER_ID = 2 ** DATACENTER_BITS - 1 // 7
export const MAX_WORKER_ID = 2 ** WORKER_BITS - 1 // 255
export const MAX_SEQUENCE = 2 ** SEQUENCE_BITS - 1 // 1023
/** IDs one worker can issue in one millisecond. */
export const SEQUENCES_PER_MS = 2 ** SEQUENCE_BITS // 1024

/** The largest ID: 2^63 - 1 (all 63 payload bits set). */
export const MAX_ID = (1n << 63n) - 1n

/** 2024-01-01T00:00:00Z, the contract's default epoch. */
export const DEFAULT_EPOCH_MS = Date.UTC(2024, 0, 1)

const TIMESTAMP_SHIFT_N = BigInt(TIMESTAMP_SHIFT)
const LOW_MASK_N = (1n << TIMESTAMP_SHIFT_N) - 1n

/**
 * A configurable epoch: whole Unix milliseconds, not before 1970, and such that the
 * whole 42-bit range stays inside the range of a JS `Date`.
 */
export const EpochMs = Schema.Int.check(
  Schema.isBetween({ minimum: 0, maximum: 8.64e15 - 2 ** TIMESTAMP_BITS })
)

export const DatacenterId = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: MAX_DATACENTER_ID }))
export const WorkerId = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: MAX_WORKER_ID }))
export const Sequence = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: MAX_SEQUENCE }))

/** The decoded fields of a snowflake ID. `timestampMs` is absolute Unix milliseconds. */
export interface Parts {
  readonly timestampMs: number
  readonly datacenterId: number
  readonly workerId: number
  readonly sequence: number
}

const inRange = (value: number, max: number): boolean => Number.isInteger(value) && value >= 0 && value <= max

/**
 * The low 21 bits shared by every ID of one (datacenter, worker): `dc << 18 | worker << 10`.
 * OR a sequence into it to get the `low21` argument of {@link DecimalComposer.toDecimal}.
 * Throws `RangeError` on an out-of-range id: these come from validated configuration,
 * so a bad one is a bug.
 */
export const nodeBits = (datacenterId: number, workerId: number): number => {
  if (!inRange(datacenterId, MAX_DATACENTER_ID)) throw new RangeError(`datacenterId out of range: ${datacenterId}`)
  if (!inRange(workerId, MAX_WORKER_ID)) throw new RangeError(`workerId out of range: ${workerId}`)
  return (datacenterId << DATACENTER_SHIFT) | (workerId << WORKER_SHIFT)
}

/**
 * Composes an ID. Throws `RangeError` when a part does not fit its field (including a
 * timestamp before the epoch or past its 42 bits): callers hand in values they produced
 * themselves, so that is a bug, not a request error.
 */
export const compose = (parts: Parts, epochMs: number = DEFAULT_EPOCH_MS): bigint => {
  const delta = parts.timestampMs - epochMs
  if (!inRange(delta, MAX_TIMESTAMP)) {
    throw new RangeError(`timestamp ${parts.timestampMs} outside the 42-bit range of epoch ${epochMs}`)
  }
  if (!inRange(parts.sequence, MAX_SEQUENCE)) throw new RangeError(`sequence out of range: ${parts.sequence}`)
  return (BigInt(delta) << TIMESTAMP_SHIFT_N) | BigInt(nodeBits(parts.datacenterId, parts.workerId) | parts.sequence)
}

/** Splits an ID into its fields. The ID must be in `[0, MAX_ID]` (see {@link parse}). */
export const decompose = (id: bigint, epochMs: number = DEFAULT_EPOCH_MS): Parts => {
  if (id < 0n || id > MAX_ID) throw new RangeError(`not a 63-bit snowflake id: ${id}`)
  const low = Number(id & LOW_MASK_N)
  return {
    timestampMs: Number(id >> TIMESTAMP_SHIFT_N) + epochMs,
    datacenterId: low >>> DATACENTER_SHIFT,
    workerId: (low >>> WORKER_SHIFT) & MAX_WORKER_ID,
    sequence: low & MAX_SEQUENCE
  }
}

/** The wire form: plain decimal, no sign, no leading zeros. */
export const toString = (id: bigint): string => id.toString()

/** Decimal digits, no leading zero (except `"0"` itself). */
const decimalPattern = /^(?:0|[1-9][0-9]*)$/

/**
 * Parses the wire form. Rejects signs, leading zeros, whitespace, non-digits and values
 * above 2^63 - 1, so every accepted string is exactly `toString` of its result.
 */
export const parse = (s: string): Result.Result<bigint, InvalidRequest> => {
  if (!decimalPattern.test(s)) {
    return Result.fail(
      new InvalidRequest({ message: "not a decimal id (digits only, no sign, no leading zeros)", details: { id: s } })
    )
  }
  // 2^63 - 1 has 19 digits: a longer number is too large whatever its digits (and not worth a BigInt).
  const id = s.length > 19 ? undefined : BigInt(s)
  if (id === undefined || id > MAX_ID) {
    return Result.fail(new InvalidRequest({ message: "id exceeds 63 bits", details: { id: s } }))
  }
  return Result.succeed(id)
}

/**
 * The first instant at which no ID can be composed any more (epoch + 2^42 ms, about
 * 139 years after the epoch), for a start-up log line.
 */
export const exhaustionDate = (epochMs: number = DEFAULT_EPOCH_MS): Date => new Date(epochMs + 2 ** TIMESTAMP_BITS)

/**
 * The generator's hot path: `(timestampMs, low21)` → decimal string.
 *
 * Converting a 64-bit value to decimal needs `bigint` (the value exceeds 2^53), but the
 * expensive part — shifting the timestamp — changes only once per millisecond while up
 * to 1024 IDs share it. So the shifted timestamp is cached and each ID costs one small
 * `BigInt(low21)`, one add and one `toString`. Measured ≈ 15 M strings/s on Node 24,
 * an order of magnitude above the 1.2 M/s target; a variant that avoided bigint by
 * splitting into two decimal halves was no faster once the string was actually consumed
 * (it builds a rope that must be flattened later).
 *
 * Mutable on purpose (a per-generator cache); not shared between generators.
 */
export class DecimalComposer {
  readonly epochMs: number
  private lastMs = Number.NaN
  private high = 0n

  constructor(epochMs: number = DEFAULT_EPOCH_MS) {
    if (!Schema.is(EpochMs)(epochMs)) throw new RangeError(`invalid epoch: ${epochMs}`)
    this.epochMs = epochMs
  }

  /**
   * `timestampMs` is absolute Unix ms; `low21` is `nodeBits(dc, worker) | sequence`.
   * The range check of the timestamp runs only when the millisecond changes.
   */
  toDecimal(timestampMs: number, low21: number): string {
    if (timestampMs !== this.lastMs) this.setMs(timestampMs)
    return (this.high + BigInt(low21)).toString()
  }

  private setMs(timestampMs: number): void {
    const delta = timestampMs - this.epochMs
    if (!inRange(delta, MAX_TIMESTAMP)) {
      throw new RangeError(`timestamp ${timestampMs} outside the 42-bit range of epoch ${this.epochMs}`)
    }
    this.high = BigInt(delta) << TIMESTAMP_SHIFT_N
    this.lastMs = timestampMs
  }
}
