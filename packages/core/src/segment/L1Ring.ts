/**
 * The L1 ring (design §3.2.2): a bounded FIFO of numbers already taken from the L2 double
 * buffer, so a hot biz_tag's takes read a pre-generated slot while a refill runs behind.
 *
 * Slots live in a `Float64Array` (segment numbers are safe integers, exact in a double),
 * never an array of objects: one allocation for the ring's lifetime and no garbage per
 * take. Like DoubleBuffer this is plain mutable code with no Effect inside; the common
 * take is one comparison, one load and two stores.
 *
 * Watermarks: `onRefillNeeded` fires (synchronously, from inside a take) on the first
 * take that leaves fewer than `low` numbers since the last `fill` — once per crossing,
 * including a take that finds the ring empty. `fill` tops the ring up to `high` and
 * re-arms the callback, so a partial fill (the source ran dry) asks again at the next take.
 */

/** Anything that hands out numbers one at a time, -1 when it has none (e.g. a DoubleBuffer). */
export interface Source {
  readonly take: () => number
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
}

const noop = () => {}

export class L1Ring {
  // Fast-path fields first.
  private size = 0
  private head = 0
  private armed = true
  private readonly slots: Float64Array
  private readonly low: number
  private readonly high: number
  private readonly onRefillNeeded: () => void
  /** Numbers ever put in (metrics: handed out = filled - size). */
  private filledTotal = 0

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
  }

  /** The oldest number, or -1 when the ring is empty. */
  take(): number {
    const s = this.size
    // After this take at least `low` remain: no watermark to look at.
    if (s > this.low) {
      const h = this.head
      this.head = h + 1 === this.slots.length ? 0 : h + 1
      this.size = s - 1
      return this.slots[h]!
    }
    return this.takeSlow()
  }

  /** Appends up to `n` numbers to `out`, oldest first; returns how many (fewer only when empty). */
  takeInto(n: number, out: Array<number>): number {
    const count = Math.min(n, this.size)
    const slots = this.slots
    const capacity = slots.length
    let h = this.head
    for (let i = 0; i < count; i++) {
      out.push(slots[h]!)
      h = h + 1 === capacity ? 0 : h + 1
    }
    this.head = h
    this.size -= count
    if (this.armed && (this.size < this.low || count < n)) this.fire()
    return count
  }

  /**
   * Moves numbers from `source` into the ring until it holds `high` or the source returns
   * -1; returns how many it moved. Re-arms the watermark callback.
   */
  fill(source: Source): number {
    const slots = this.slots
    const capacity = slots.length
    let tail = (this.head + this.size) % capacity
    let moved = 0
    while (this.size + moved < this.high) {
      const v = source.take()
      if (v < 0) break
      slots[tail] = v
      tail = tail + 1 === capacity ? 0 : tail + 1
      moved++
    }
    this.size += moved
    this.filledTotal += moved
    this.armed = true
    return moved
  }

  get length(): number {
    return this.size
  }

  get capacity(): number {
    return this.slots.length
  }

  /** Numbers handed out since the ring was made. */
  get takenTotal(): number {
    return this.filledTotal - this.size
  }

  /** Whether the ring is below its low watermark (a refill is due). */
  get belowLow(): boolean {
    return this.size < this.low
  }

  private takeSlow(): number {
    const s = this.size
    if (s === 0) {
      if (this.armed) this.fire()
      return -1
    }
    const h = this.head
    // Read before firing: a re-entrant fill may reuse the freed slot.
    const v = this.slots[h]!
    this.head = h + 1 === this.slots.length ? 0 : h + 1
    this.size = s - 1
    if (this.armed) this.fire()
    return v
  }

  private fire(): void {
    // State first: the callback may re-enter (fill, take).
    this.armed = false
    this.onRefillNeeded()
  }
}
