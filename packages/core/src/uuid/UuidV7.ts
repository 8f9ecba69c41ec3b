/**
 * UUID version 7 (RFC 9562 §5.7) with the monotonic counter of §6.2 Method 1
 * ("fixed bit-length dedicated counter"):
 *
 * ```
 * unix_ts_ms 48 | ver 4 (=7) | rand_a 12 | var 2 (=10) | rand_b 62
 *                             \____ counter (12 … 26 bits) ____/ \__ random __/
 * ```
 *
 * The counter takes all of rand_a and the top `counterBits - 12` bits of rand_b. Each
 * new millisecond seeds it randomly with its top bit clear (so at least 2^(bits-1)
 * increments remain), each further UUID in the same millisecond increments it, and the
 * remaining ≥ 48 bits of rand_b are fresh random bytes per UUID. Because (timestamp,
 * counter) strictly increases and both precede the random bits, the text (and byte)
 * order of one generator's output is strictly increasing. On counter overflow the
 * embedded timestamp moves one ms ahead of the clock (§6.2 allows this); a clock that
 * reads behind the last embedded timestamp is treated as "still that millisecond".
 */
import { DEFAULT_POOL_BYTES, RandomPool, type RandomSource } from "./RandomPool.ts"
import { HEX2, hex } from "./UuidText.ts"

export const MIN_COUNTER_BITS = 12
export const MAX_COUNTER_BITS = 26
/** 26: 2^25 guaranteed increments per ms, and 48 random bits per UUID. */
export const DEFAULT_COUNTER_BITS = MAX_COUNTER_BITS

/** Largest Unix ms a 48-bit field holds (year 10889). */
export const MAX_TIMESTAMP_MS = 2 ** 48 - 1

export interface Options {
  /** Counter width, 12–26 bits. Small values exist for tests of the overflow path. */
  readonly counterBits?: number
  /** Bytes drawn from the random source at a time. */
  readonly poolBytes?: number
}

// "7xxx" for the 12 bits of rand_a, "8xxx"…"bxxx" for variant + 14 bits: two table
// lookups instead of formatting 8 nibbles per UUID.
const GROUP3: ReadonlyArray<string> = Array.from({ length: 1 << 12 }, (_, i) => "7" + hex(i, 3))
const GROUP4: ReadonlyArray<string> = Array.from({ length: 1 << 14 }, (_, i) => hex(0x8000 | i, 4))

export class UuidV7Generator {
  private readonly pool: RandomPool
  /** Counter bits that live in rand_b (the rest of rand_b's top 14 bits is random). */
  private readonly lowBits: number
  private readonly lowMask: number
  /** Random bits filling group 4 below the counter. */
  private readonly randBits: number
  private readonly seedMask: number
  private readonly counterMax: number
  /** The embedded timestamp of the last UUID (may run ahead of the clock); none yet. */
  private lastMs = Number.NEGATIVE_INFINITY
  private counter = 0
  /** `"tttttttt-tttt-"` of `lastMs`. */
  private prefix = ""

  constructor(random: RandomSource, options: Options = {}) {
    const bits = options.counterBits ?? DEFAULT_COUNTER_BITS
    if (!(Number.isInteger(bits) && bits >= MIN_COUNTER_BITS && bits <= MAX_COUNTER_BITS)) {
      throw new RangeError(`counterBits must be an integer in ${MIN_COUNTER_BITS}..${MAX_COUNTER_BITS}: ${bits}`)
    }
    this.pool = new RandomPool(random, options.poolBytes ?? DEFAULT_POOL_BYTES)
    this.lowBits = bits - 12
    this.lowMask = (1 << this.lowBits) - 1
    this.randBits = 14 - this.lowBits
    this.counterMax = 2 ** bits - 1
    this.seedMask = 2 ** (bits - 1) - 1
    this.counter = this.counterMax
  }

  /**
   * The next UUID; `nowMs` is the current Unix time in ms (a fraction is floored). A
   * reading behind the last embedded timestamp continues that millisecond's counter.
   */
  next(nowMs: number): string {
    const now = Math.floor(nowMs)
    if (now > this.lastMs) {
      this.startMs(now)
    } else if (this.counter < this.counterMax) {
      this.counter++
    } else if (now === now) {
      this.startMs(this.lastMs + 1)
    } else {
      throw new RangeError(`invalid clock reading: ${nowMs}`)
    }
    const c = this.counter
    const low = this.randBits === 0
      ? c & this.lowMask
      : ((c & this.lowMask) << this.randBits) | (this.pool.uint32() & ((1 << this.randBits) - 1))
    const p = this.pool.reserve(6)
    const b = this.pool.bytes
    return this.prefix + GROUP3[c >>> this.lowBits] + "-" + GROUP4[low] + "-" + HEX2[b[p]!] +
      HEX2[b[p + 1]!] + HEX2[b[p + 2]!] + HEX2[b[p + 3]!] + HEX2[b[p + 4]!] + HEX2[b[p + 5]!]
  }

  private startMs(ms: number): void {
    if (!(ms >= 0 && ms <= MAX_TIMESTAMP_MS)) throw new RangeError(`timestamp outside 48 bits: ${ms}`)
    // The timestamp text is computed once per millisecond, not per UUID.
    const t = hex(ms, 12)
    this.prefix = t.slice(0, 8) + "-" + t.slice(8) + "-"
    this.lastMs = ms
    this.counter = this.pool.uint32() & this.seedMask
  }
}

/** A generator instance; keep one per process (its order guarantee is per instance). */
export const make = (random: RandomSource, options?: Options): UuidV7Generator => new UuidV7Generator(random, options)
