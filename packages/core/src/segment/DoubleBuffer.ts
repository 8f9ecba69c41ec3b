/**
 * The segment double buffer (Leaf style): numbers are handed out from `current`, and a
 * `next` segment is loaded in the background before `current` runs out, so a request
 * never waits for the database while the loader keeps up.
 *
 * This is a plain mutable class with no Effect inside because `take()` is the hottest
 * path of the service (the server calls `String(buffer.take())` per ID): in the common
 * case it is one comparison and one increment. Everything rare — the preload trigger,
 * the switch to `next`, exhaustion — is folded into one precomputed bound (`limit`) so
 * that the fast path does not test for them separately.
 *
 * Single-threaded by construction (JS): "concurrent" consumers are just interleaved
 * calls, and every call sees a consistent state.
 */
import { Result, Schema } from "effect"

/** An inclusive range of numbers `[start, end]`, as loaded from storage. */
export interface Segment {
  readonly start: number
  readonly end: number
}

/** Why `offer` refused a segment. Each one is a bug or a race in the loader, never user input. */
export class SegmentRejected extends Schema.TaggedError<SegmentRejected>()("SegmentRejected", {
  reason: Schema.Literals(["Invalid", "Reversal", "Full"]),
  message: Schema.String
}) {}

export interface Options {
  /**
   * Fraction of `current` consumed (0–1) at which `onPreloadNeeded` fires when no `next`
   * is installed. Default 0.1: Leaf loads the next segment once 10 % of the current one
   * is used, leaving 90 % of a segment's lifetime for the load.
   */
  readonly preloadThreshold?: number
  /**
   * Called (synchronously, from inside `take`/`takeInto`) once per segment when the
   * threshold is reached and no `next` is installed. It must not throw; it should only
   * schedule the load. It may call back into the buffer (e.g. `offer`).
   */
  readonly onPreloadNeeded?: () => void
}

export const DEFAULT_PRELOAD_THRESHOLD = 0.1

const noop = () => {}

const checkedThreshold = (threshold: number): number => {
  if (!(threshold >= 0 && threshold <= 1)) throw new RangeError(`preloadThreshold must be in [0, 1]: ${threshold}`)
  return threshold
}

export class DoubleBuffer {
  // The two fields of the fast path come first (adjacent in the object layout).
  /** The next value `current` hands out; `current` is used up when `cursor > end`. */
  private cursor = 0
  /**
   * The fast path may hand out values up to here without further checks: `end`, or the
   * value just before the preload trigger while the trigger is armed.
   */
  private limit = -1
  private start = 0
  private end = -1
  /** The value whose hand-out fires the preload callback. */
  private trigger = 0
  private armed = false
  /** `next` segment; `nextEnd < 0` means none. */
  private nextStart = -1
  private nextEnd = -1
  /** End of the last installed segment: an offered segment must start above it. */
  private watermark = -1
  private threshold: number
  /** Count of the last `takeRun`. */
  private run = 0
  private readonly onPreloadNeeded: () => void

  constructor(options: Options = {}) {
    this.threshold = checkedThreshold(options.preloadThreshold ?? DEFAULT_PRELOAD_THRESHOLD)
    this.onPreloadNeeded = options.onPreloadNeeded ?? noop
  }

  /**
   * Changes the preload threshold from the next installed segment on (run-time tuning);
   * the trigger of the segment being consumed stays where it was placed.
   */
  setPreloadThreshold(threshold: number): void {
    this.threshold = checkedThreshold(threshold)
  }

  get preloadThreshold(): number {
    return this.threshold
  }

  /** The next number, or -1 when neither segment has numbers left. */
  take(): number {
    const v = this.cursor
    if (v <= this.limit) {
      this.cursor = v + 1
      return v
    }
    return this.takeSlow()
  }

  /**
   * Hands out a run of up to `max` (≥ 1) consecutive numbers: returns the first, or -1
   * when the buffer is dry, and leaves the count in `runLength` (no allocation). A run
   * never crosses the preload trigger or the switch to `next`; the take at such a point
   * comes back as a run of one, so a caller that wants more simply asks again.
   */
  takeRun(max: number): number {
    const first = this.cursor
    if (first <= this.limit) {
      const count = Math.min(max, this.limit - first + 1)
      this.cursor = first + count
      this.run = count
      return first
    }
    const v = this.takeSlow()
    this.run = v < 0 ? 0 : 1
    return v
  }

  /** How many numbers the last `takeRun` handed out. */
  get runLength(): number {
    return this.run
  }

  /**
   * Appends up to `n` numbers to `out` (in increasing order, possibly spanning the switch
   * from `current` to `next`) and returns how many it appended; fewer than `n` only when
   * the buffer ran dry.
   */
  takeInto(n: number, out: Array<number>): number {
    let taken = 0
    while (taken < n) {
      const first = this.takeRun(n - taken)
      if (first < 0) break
      const count = this.run
      for (let k = 0; k < count; k++) out.push(first + k)
      taken += count
    }
    return taken
  }

  /**
   * Installs a loaded segment: as `current` when `current` is used up, else as `next`.
   * Rejects a malformed segment, one that does not start above everything installed so
   * far (it would reissue or reorder numbers), and one that finds both slots taken.
   */
  offer(segment: Segment): Result.Result<"current" | "next", SegmentRejected> {
    const { end, start } = segment
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && start <= end)) {
      return Result.fail(
        new SegmentRejected({ reason: "Invalid", message: `malformed segment [${start}, ${end}]` })
      )
    }
    if (start <= this.watermark) {
      return Result.fail(
        new SegmentRejected({
          reason: "Reversal",
          message: `segment [${start}, ${end}] does not start above ${this.watermark}, the end of the last installed segment`
        })
      )
    }
    if (this.cursor > this.end && this.nextEnd >= 0) this.promote()
    if (this.cursor <= this.end) {
      if (this.nextEnd >= 0) {
        return Result.fail(
          new SegmentRejected({ reason: "Full", message: "both current and next segments are installed" })
        )
      }
      this.nextStart = start
      this.nextEnd = end
      this.watermark = end
      // A next segment is ready: no preload needed for the rest of `current`.
      this.armed = false
      this.limit = this.end
      return Result.succeed("next")
    }
    this.watermark = end
    this.install(start, end)
    return Result.succeed("current")
  }

  /**
   * Lets the preload callback fire again for the current segment (e.g. after a failed
   * load), at the next take if the threshold is already passed. No effect while `next`
   * is installed.
   */
  rearmPreload(): void {
    if (this.nextEnd >= 0) return
    this.armed = true
    this.limit = Math.min(this.trigger - 1, this.end)
  }

  /** Numbers left in both segments. */
  get remaining(): number {
    const inCurrent = this.cursor <= this.end ? this.end - this.cursor + 1 : 0
    return inCurrent + (this.nextEnd >= 0 ? this.nextEnd - this.nextStart + 1 : 0)
  }

  /** Whether a `next` segment is installed. */
  get hasNext(): boolean {
    return this.nextEnd >= 0
  }

  /** The current segment as installed, or `undefined` before the first one. */
  get current(): Segment | undefined {
    return this.end >= 0 ? { start: this.start, end: this.end } : undefined
  }

  get next(): Segment | undefined {
    return this.nextEnd >= 0 ? { start: this.nextStart, end: this.nextEnd } : undefined
  }

  /** Fraction of `current` handed out, 0–1 (1 when there is none). */
  get consumedFraction(): number {
    return this.end >= 0 ? (this.cursor - this.start) / (this.end - this.start + 1) : 1
  }

  /** Everything the fast path skips: the preload trigger, the switch, exhaustion. */
  private takeSlow(): number {
    if (this.cursor <= this.end) {
      // Only the armed trigger lowers `limit` below `end`.
      if (this.armed) this.fire()
      else this.limit = this.end
      return this.take()
    }
    if (this.nextEnd >= 0) {
      this.promote()
      return this.take()
    }
    // Dry. Fires only after `rearmPreload` (the trigger always precedes the end).
    if (this.armed) this.fire()
    return -1
  }

  private fire(): void {
    // State first: the callback may re-enter (offer, take).
    this.armed = false
    this.limit = this.end
    this.onPreloadNeeded()
  }

  private promote(): void {
    const start = this.nextStart
    const end = this.nextEnd
    this.nextStart = -1
    this.nextEnd = -1
    this.install(start, end)
  }

  /** Makes `[start, end]` the current segment and arms its preload trigger. */
  private install(start: number, end: number): void {
    this.start = start
    this.cursor = start
    this.end = end
    // Fire when handing out value v makes the consumed count v - start + 1 reach
    // threshold × size, i.e. at v = start - 1 + ceil(threshold × size), at least `start`.
    const size = end - start + 1
    this.trigger = Math.min(end, start + Math.max(0, Math.ceil(this.threshold * size) - 1))
    this.armed = true
    this.limit = this.trigger - 1
  }
}
