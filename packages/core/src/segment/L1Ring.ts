/**
 * The L1 ring: a bounded FIFO of numbers already taken from the L2 double
 * buffer, so a hot biz_tag's takes read a pre-generated slot while a refill runs behind.
 *
 * Slots live in one `Float64Array` allocated for the ring's lifetime (segment numbers are
 * safe integers, exact in a double): 8 bytes a slot whatever the numbers, nothing for the
 * garbage collector to scan, and a take makes no garbage. (A packed plain array reads
 * about 1 ns faster in V8, but its size and layout change with the numbers it holds.)
 *
 * Like DoubleBuffer this is plain mutable code with no Effect inside, and everything rare
 * — the wrap at the end of the slots, the low watermark, the empty ring — is folded into
 * one precomputed bound (`limit`), so the common take is one comparison, one store and
 * one load. `fill` copies whole runs of consecutive numbers from the source (a segment is
 * a run), not one call per number.
 *
 * Watermarks: `onRefillNeeded` fires (synchronously, from inside a take) on the first
 * take that leaves fewer than `low` numbers since the last `fill` — once per crossing,
 * including a take that finds the ring empty. `fill` tops the ring up to `high` and
 * re-arms the callback, so a partial fill (the source ran dry) asks again at the next take.
 */

/** Hands out runs of consecutive numbers (e.g. a DoubleBuffer). */
export interface Source {
  /** The first of up to `max` (≥ 1) consecutive numbers, -1 when it has none. */
  readonly takeRun: (max: number) => number
  /** How many numbers the last `takeRun` handed out. */
  readonly runLength: number
}

export interface Options {
  /** Number of slots (≥ 1). */
  readonly capacity: number
  /** Fewer numbers than this after a take → `onRefillNeeded` (0 ≤ low ≤ high). */
  readonly low: number
  /** `fill` stops here (low ≤ high ≤ capacity). */
  readonly high: number
  /** Must not throw; it should only schedule the refill. It may call back into the ring. */
  readonly onRefillNeeded?: () => void
  /**
   * What `take` returns when the ring is empty (after `onRefillNeeded`); default -1. The
   * server takes from L2 here: on the slow path, so the fast take has no test for it.
   */
  readonly whenEmpty?: () => number
}

const noop = () => {}
const none = () => -1

export class L1Ring {
  // The two fields of the fast path come first (adjacent in the object layout).
  /** Slot of the next take; equals the capacity when the next take wraps to slot 0. */
  private head = 0
  /**
   * Fast takes may read slots below this: the end of the slots, the empty ring, or the
   * slot whose take would leave fewer than `low` numbers while the callback is armed.
   */
  private limit = 0
  private readonly slots: Float64Array
  /** Numbers handed out before slot 0 of the current lap (a multiple of the capacity). */
  private base = 0
  /** Numbers ever put in; the ring holds `filledTotal - base - head`. */
  private filledTotal = 0
  private armed = true
  private readonly low: number
  private readonly high: number
  private readonly onRefillNeeded: () => void
  private readonly whenEmpty: () => number

  constructor(options: Options) {
    const { capacity, high, low } = options
    if (!(Number.isSafeInteger(capacity) && capacity >= 1)) throw new RangeError(`capacity must be a positive integer: ${capacity}`)
    if (!(Number.isSafeInteger(low) && Number.isSafeInteger(high) && low >= 0 && low <= high && high <= capacity)) {
      throw new RangeError(`watermarks must satisfy 0 ≤ low ≤ high ≤ capacity: ${low}, ${high}, ${capacity}`)
    }
    this.slots = new Float64Array(capacity)
    this.low = low
    this.high = high
    this.onRefillNeeded = options.onRefillNeeded ?? noop
    this.whenEmpty = options.whenEmpty ?? none
  }

  /** The oldest number, or `whenEmpty()` (-1) when the ring is empty. */
  take(): number {
    const h = this.head
    if (h < this.limit) {
      this.head = h + 1
      return this.slots[h]!
    }
    return this.takeSlow()
  }

  /** Appends up to `n` numbers to `out`, oldest first; returns how many (fewer only when empty). */
  takeInto(n: number, out: Array<number>): number {
    const count = Math.min(n, this.length)
    const slots = this.slots
    const capacity = slots.length
    let h = this.head
    for (let left = count; left > 0;) {
      if (h === capacity) h = this.wrap()
      const stop = Math.min(capacity, h + left)
      left -= stop - h
      while (h < stop) out.push(slots[h++]!)
    }
    this.head = h
    if (this.armed && (this.length < this.low || count < n)) this.fire()
    else this.rebound()
    return count
  }

  /**
   * Moves numbers from `source` into the ring until it holds `high` or the source returns
   * -1; returns how many it moved. Re-arms the watermark callback.
   */
  fill(source: Source): number {
    const slots = this.slots
    const capacity = slots.length
    // `base` is a multiple of the capacity, so this is the slot after the newest number
    // (`| 0`: slot indexes fit in an int32; it keeps the copy loop on integer arithmetic).
    let tail = (this.filledTotal % capacity) | 0
    const wanted = this.high - this.length
    let moved = 0
    while (moved < wanted) {
      const first = source.takeRun(wanted - moved)
      if (first < 0) break
      const end = first + source.runLength
      // Consecutive numbers, copied in at most two stretches (split at the end of the slots),
      // counting with an int32 `k`: about twice as fast as stepping `v`, a double above 2^31.
      for (let v = first; v < end;) {
        const n = Math.min(end - v, capacity - tail) | 0
        for (let k = 0; k < n; k++) slots[tail + k] = v + k
        v += n
        tail += n
        if (tail === capacity) tail = 0
      }
      moved += end - first
    }
    this.filledTotal += moved
    this.armed = true
    this.rebound()
    return moved
  }

  get length(): number {
    return this.filledTotal - this.base - this.head
  }

  get capacity(): number {
    return this.slots.length
  }

  /** Numbers handed out since the ring was made. */
  get takenTotal(): number {
    return this.base + this.head
  }

  /** Whether the ring is below its low watermark (a refill is due). */
  get belowLow(): boolean {
    return this.length < this.low
  }

  private takeSlow(): number {
    if (this.length === 0) {
      if (this.armed) this.fire()
      return this.whenEmpty()
    }
    const h = this.head === this.slots.length ? this.wrap() : this.head
    // Read before firing: a re-entrant fill may reuse the freed slot.
    const v = this.slots[h]!
    this.head = h + 1
    if (this.armed && this.length < this.low) this.fire()
    else this.rebound()
    return v
  }

  /** Starts the next lap at slot 0; returns the new head. */
  private wrap(): number {
    this.base += this.slots.length
    this.head = 0
    return 0
  }

  private rebound(): void {
    const available = this.filledTotal - this.base - (this.armed ? this.low : 0)
    this.limit = Math.min(this.slots.length, available)
  }

  private fire(): void {
    // State first: the callback may re-enter (fill, take).
    this.armed = false
    this.rebound()
    this.onRefillNeeded()
  }
}
