/**
 * A local stock of one biz_tag's IDs, so that taking one is a synchronous array read.
 *
 * Refills run in the background before the stock runs dry: whenever fewer than
 * `lowWatermark` IDs are buffered or already requested, batches of `batchSize` are requested
 * until `highWatermark` are, with at most `concurrency` requests in flight. Triggers
 * coalesce: however many takes cross the watermark, only the missing batches are asked for
 * (with `concurrency: 1` exactly one refill runs at a time, and IDs come out in the order
 * the server issued them; with more, batches are used in the order they arrive).
 *
 * Plain synchronous code with callbacks: `take` is the hot path of the client.
 */

export interface PrefetchOptions {
  /** IDs per refill request (1..10000). */
  readonly batchSize: number
  /** Refill when buffered + requested IDs fall below this. */
  readonly lowWatermark: number
  /** Refill up to this many buffered + requested IDs. */
  readonly highWatermark: number
  /** Refill requests in flight at most. */
  readonly concurrency: number
}

export const defaultPrefetch: PrefetchOptions = {
  batchSize: 1000,
  lowWatermark: 1000,
  highWatermark: 3000,
  concurrency: 1
}

/** The options with defaults filled in and the watermarks made consistent. */
export const prefetchOptions = (given: Partial<PrefetchOptions> = {}): PrefetchOptions => {
  const batchSize = Math.min(10_000, Math.max(1, Math.floor(given.batchSize ?? defaultPrefetch.batchSize)))
  const lowWatermark = Math.max(1, Math.floor(given.lowWatermark ?? batchSize))
  const highWatermark = Math.max(lowWatermark + batchSize, Math.floor(given.highWatermark ?? lowWatermark + 2 * batchSize))
  const concurrency = Math.max(1, Math.floor(given.concurrency ?? defaultPrefetch.concurrency))
  return { batchSize, lowWatermark, highWatermark, concurrency }
}

/** One refill request: call `done` exactly once, with the IDs or with the error. */
export type Fetch<E> = (size: number, done: (ids: ReadonlyArray<string> | undefined, error?: E) => void) => void

export interface PrefetchStats {
  /** IDs ready to take now. */
  readonly buffered: number
  /** IDs requested and not yet received. */
  readonly requested: number
  /** Refill requests completed successfully. */
  readonly refills: number
  /** Refill requests that failed. */
  readonly failedRefills: number
  /** `take` calls that found the stock empty. */
  readonly dryTakes: number
}

interface Waiter<E> {
  readonly resume: (id: string | undefined, error?: E) => void
}

export class PrefetchBuffer<E> {
  readonly options: PrefetchOptions
  readonly fetch: Fetch<E>
  /** The batch being taken from, and the next index in it. */
  private head: ReadonlyArray<string> = []
  private index = 0
  /** Batches received after `head`. */
  private readonly queue: Array<ReadonlyArray<string>> = []
  private buffered = 0
  private requested = 0
  private inFlight = 0
  private refills = 0
  private failedRefills = 0
  private dryTakes = 0
  private readonly waiters: Array<Waiter<E>> = []
  private closed = false

  constructor(options: PrefetchOptions, fetch: Fetch<E>) {
    this.options = options
    this.fetch = fetch
  }

  /** The next ID, or undefined when none is buffered (a refill is then on its way). */
  take(): string | undefined {
    if (this.index < this.head.length) {
      this.buffered--
      if (this.buffered + this.requested < this.options.lowWatermark) this.refill()
      return this.head[this.index++]
    }
    const next = this.queue.shift()
    if (next !== undefined) {
      this.head = next
      this.index = 0
      return this.take()
    }
    this.dryTakes++
    this.refill()
    return undefined
  }

  /**
   * Calls `resume` with the next ID once one arrives, or with the error of the refill that
   * was to bring it. Returns a function that withdraws the waiter.
   */
  wait(resume: (id: string | undefined, error?: E) => void): () => void {
    const id = this.take()
    if (id !== undefined) {
      resume(id)
      return noop
    }
    const waiter: Waiter<E> = { resume }
    this.waiters.push(waiter)
    return () => {
      const i = this.waiters.indexOf(waiter)
      if (i !== -1) this.waiters.splice(i, 1)
    }
  }

  /** Returns a taken ID to the front of the stock (it is the next one taken). */
  putBack(id: string): void {
    this.head = [id, ...this.head.slice(this.index)]
    this.index = 0
    this.buffered++
  }

  /** Starts refills up to the high watermark (also used to warm a biz_tag up front). */
  refill(): void {
    const { batchSize, concurrency, highWatermark } = this.options
    while (!this.closed && this.inFlight < concurrency && this.buffered + this.requested < highWatermark) {
      this.inFlight++
      this.requested += batchSize
      this.fetch(batchSize, (ids, error) => this.received(batchSize, ids, error))
    }
  }

  stats(): PrefetchStats {
    return {
      buffered: this.buffered,
      requested: this.requested,
      refills: this.refills,
      failedRefills: this.failedRefills,
      dryTakes: this.dryTakes
    }
  }

  /** Stops refilling; waiters get `error`. */
  close(error: E): void {
    this.closed = true
    this.failWaiters(error)
  }

  private received(size: number, ids: ReadonlyArray<string> | undefined, error: E | undefined): void {
    this.inFlight--
    this.requested -= size
    if (ids === undefined) {
      this.failedRefills++
      // Waiting callers learn why; the next take tries again.
      this.failWaiters(error as E)
      return
    }
    this.refills++
    // Stock first, then waiters: a waiter's continuation may run right here and take more.
    if (ids.length > 0) {
      this.queue.push(ids)
      this.buffered += ids.length
    }
    while (this.waiters.length > 0 && this.buffered > 0) this.waiters.shift()!.resume(this.take())
    // A refill cycle, once started below the low watermark, goes on up to the high one.
    this.refill()
  }

  private failWaiters(error: E): void {
    const waiters = this.waiters.splice(0)
    for (const waiter of waiters) waiter.resume(undefined, error)
  }
}

const noop = () => {}
