/**
 * One biz_tag's segment stream on this node: an optional L1 ring in front of a double
 * buffer (L2). Idle, the actor is plain state — no fiber, queue or span parked on it.
 * Work runs on demand, each piece in a short fiber of the owner's (`fork`) that ends when
 * it is done:
 *
 * - a load, when L2 asks for its preload or a take finds L1 and L2 empty: it allocates one
 *   segment and installs it. At most one is in flight (single-flight by the `loading`
 *   handle; it is the only code that talks to storage);
 * - a ring refill, when the ring passes its low watermark: it tops the ring up from L2,
 *   off the take that noticed. When L2 is dry too, the load it asks for refills the ring
 *   as it lands.
 *
 * Order: the ring is filled only from the head of L2, and L2 is taken from directly only
 * while the ring is empty, so every number in the ring is below every number in L2 and
 * takes stay increasing per node — never a number twice.
 *
 * Takes are synchronous while L1 or L2 has numbers. A take that finds both empty waits
 * for the load, at most `takeTimeoutMillis` (then IDGEN-SEG-1003 if the last load
 * failed for database reasons, else IDGEN-SEG-1002). A take refused because the range is
 * used up (IDGEN-SEG-1001) gives back what it had taken (`spare`): the range's last
 * numbers go to later takes that fit, ahead of L1 and L2 (which stay dry: nothing is
 * allocated after exhaustion). Takes stay increasing: a load wakes its waiting takes (first
 * come, first served) before its fiber goes on, so they have taken from the new segment
 * before any other take can (test: `SegmentActorGiveBack.test.ts`).
 *
 * A stopped actor (idle release) still hands out what it holds; its load in flight is
 * interrupted (the numbers become gaps), and a take that would have to wait moves to
 * `successor`.
 */
import { DoubleBuffer, DynamicStep, Errors, L1Ring } from "@idgen/core"
import { Clock, Deferred, Effect, Exit, Fiber, Option, Result } from "effect"
import type { AllocatedSegment } from "../storage/Records.ts"

export type LoadError = Errors.SegmentExhausted | Errors.DatabaseUnavailable | Errors.SegmentAllocateFailed

/** Read at each use, so live configuration changes reach a running actor. */
export interface ActorSettings {
  /** The biz_tag's configured step (the base of the dynamic step); read at each load. */
  readonly baseStep: number
  /** Applies from the next installed segment. */
  readonly preloadThreshold: number
  readonly targetSegmentSeconds: number
  readonly maxStep: number
  readonly takeTimeoutMillis: number
  /** CPU usage 0–1, read at each load. */
  readonly pressure: () => number
}

export interface RingShape {
  readonly capacity: number
  readonly low: number
  readonly high: number
}

export interface ActorStats {
  readonly loads: number
  /** Takes that found L1 and L2 empty and waited for a refill. */
  readonly waits: number
  /** Waits that ran out of `takeTimeoutMillis`. */
  readonly timeouts: number
  /** Numbers handed out from the ring. */
  readonly l1Hits: number
  /** Numbers handed out from L2 while a ring was attached but empty. */
  readonly l2Fallbacks: number
}

export interface SegmentActor {
  /** Fills `out` with up to `n` numbers without waiting; returns how many it took. */
  readonly takeNow: (n: number, out: Array<number>) => number
  /** One number, or -1 when L1 and L2 are empty right now. */
  readonly takeOneNow: () => number
  /**
   * Takes exactly `n` numbers, waiting (bounded) for the refill when L1 and L2 run dry;
   * refused with SegmentExhausted, it leaves what it had taken to the next takes.
   */
  readonly take: (n: number) => Effect.Effect<Array<number>, LoadError>
  /** Numbers left in L1 and L2 (not the spare numbers only `take` hands out). */
  readonly buffered: () => number
  /** The step of the last allocation (the next one recomputes it). */
  readonly currentStep: () => number
  /** The biz_tag's step as the actor will use it at its next load. */
  readonly baseStep: () => number
  /** The L2 preload threshold in force for the next installed segment. */
  readonly preloadThreshold: () => number
  readonly stats: () => ActorStats
  /** Numbers left in the current segment, and whether the next one is loaded (metrics). */
  readonly fill: () => { readonly currentRemaining: number; readonly consumedFraction: number; readonly nextLoaded: boolean }
  /** The ring's fill and capacity; undefined without a ring. */
  readonly ring: () => { readonly length: number; readonly capacity: number } | undefined
  /** Puts a ring of this shape in front of L2 (no-op when one is attached). */
  readonly attachRing: (shape: RingShape) => void
  /** Grows with every number handed out and every `take` call: unchanged means idle. */
  readonly activity: () => number
  /** Numbers handed out so far (for the observed rate). */
  readonly handedOut: () => number
  /** Takes waiting for a refill right now. */
  readonly waiting: () => number
  /**
   * Stops the actor: its load in flight is interrupted, and waits — the current ones and
   * any later — go to `successor`.
   */
  readonly stop: () => Effect.Effect<void>
}

/** Runs `effect` in a fiber the owner supervises (interrupted when the owner's scope closes). */
export type Fork = (effect: Effect.Effect<void>) => Fiber.Fiber<void>

/** What an actor loads from, read at each use (live settings reach a running actor). */
export interface SegmentSource extends ActorSettings {
  /** One segment of `step` numbers from storage. */
  readonly allocate: (step: number) => Effect.Effect<AllocatedSegment, LoadError>
  /** The biz_tag's actor after this one was stopped. */
  readonly successor: () => Effect.Effect<SegmentActor>
}

/** The actor of `source`; `fork` runs its loads and ring refills. */
export const make = (source: SegmentSource, fork: Fork, clock: Clock.Clock): SegmentActor => new Actor(source, fork, clock)

/**
 * A class, not a closure per operation: an idle actor is one object with its buffer (it
 * is kept for every biz_tag this node serves until its idle release). Not exported — the
 * fields are the actor's own business, `SegmentActor` is what others see.
 */
class Actor implements SegmentActor {
  // The fast paths: own properties closing over the constant buffer or ring, not methods
  // reading a field (one load less per take); L2's until `attachRing` swaps in the ring's.
  takeOneNow: () => number
  takeNow: (n: number, out: Array<number>) => number
  readonly buffer: DoubleBuffer.DoubleBuffer
  l1: L1Ring.L1Ring | undefined = undefined
  /** Settled by the next load to finish; made by the first take that waits for it. */
  arrived: Deferred.Deferred<void, LoadError> | undefined = undefined
  /** The load in flight: at most one (single-flight), none while idle. */
  loading: Fiber.Fiber<void> | undefined = undefined
  ringRefilling = false
  /** Numbers given back by takes refused with SegmentExhausted, increasing; `take` serves them first. */
  spare: Array<number> = []
  step: number
  /** Handed-out count = numbers installed - numbers left: no counter on the hot path. */
  installed = 0
  handedOutAtLastLoad = 0
  lastLoadMs: number
  lastLoadError: LoadError | undefined = undefined
  loads = 0
  waits = 0
  timeouts = 0
  waiters = 0
  takeCalls = 0
  l2Fallbacks = 0
  stopped = false
  readonly source: SegmentSource
  readonly fork: Fork
  readonly clock: Clock.Clock

  constructor(source: SegmentSource, fork: Fork, clock: Clock.Clock) {
    this.source = source
    this.fork = fork
    this.clock = clock
    this.step = source.baseStep
    this.lastLoadMs = clock.currentTimeMillisUnsafe()
    const buffer = new DoubleBuffer.DoubleBuffer({
      preloadThreshold: source.preloadThreshold,
      onPreloadNeeded: () => this.requestLoad()
    })
    this.buffer = buffer
    this.takeOneNow = () => buffer.take()
    this.takeNow = (n, out) => buffer.takeInto(n, out)
  }

  take(n: number): Effect.Effect<Array<number>, LoadError> {
    return takeWaiting(this, n)
  }

  buffered(): number {
    return this.buffer.remaining + (this.l1 === undefined ? 0 : this.l1.length)
  }

  handedOut(): number {
    return this.installed - this.buffered() - this.spare.length
  }

  currentStep(): number {
    return this.step
  }

  baseStep(): number {
    return this.source.baseStep
  }

  preloadThreshold(): number {
    return this.buffer.preloadThreshold
  }

  stats(): ActorStats {
    const { l1 } = this
    return { loads: this.loads, waits: this.waits, timeouts: this.timeouts, l1Hits: l1 === undefined ? 0 : l1.takenTotal, l2Fallbacks: this.l2Fallbacks }
  }

  fill() {
    const { buffer } = this
    const next = buffer.next
    return {
      currentRemaining: buffer.remaining - (next === undefined ? 0 : next.end - next.start + 1),
      consumedFraction: buffer.consumedFraction,
      nextLoaded: next !== undefined
    }
  }

  ring() {
    const { l1 } = this
    return l1 === undefined ? undefined : { length: l1.length, capacity: l1.capacity }
  }

  attachRing(shape: RingShape): void {
    if (this.l1 !== undefined) return
    const buffer = this.buffer
    const r = new L1Ring.L1Ring({
      ...shape,
      onRefillNeeded: () => this.ringBelowLow(),
      // A take that finds the ring empty takes from L2 (off the ring's fast path).
      whenEmpty: () => {
        const v = buffer.take()
        if (v >= 0) this.l2Fallbacks++
        return v
      }
    })
    this.l1 = r
    // Closes over the constant `r`, not the reassignable `l1`: measurably faster per take.
    this.takeOneNow = () => r.take()
    this.takeNow = (n, out) => {
      const fromRing = r.takeInto(n, out)
      if (fromRing === n) return n
      const fromL2 = buffer.takeInto(n - fromRing, out)
      this.l2Fallbacks += fromL2
      return fromRing + fromL2
    }
    this.fillRing(r)
  }

  activity(): number {
    return this.handedOut() + this.takeCalls
  }

  waiting(): number {
    return this.waiters
  }

  stop(): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.stopped = true
      // Waiters move to the successor now rather than at their timeout.
      this.settle(Exit.void)
      const load = this.loading
      this.loading = undefined
      return load === undefined ? Effect.void : Fiber.interrupt(load)
    })
  }

  // Sizes the next segment from the rate observed since the previous load.
  nextStep(): number {
    const { source } = this
    const out = this.handedOut()
    const now = this.clock.currentTimeMillisUnsafe()
    const seconds = Math.max((now - this.lastLoadMs) / 1000, 0.001)
    this.step = DynamicStep.nextStep({
      baseStep: source.baseStep,
      currentStep: this.step,
      observedQps: (out - this.handedOutAtLastLoad) / seconds,
      pressure: source.pressure(),
      targetSeconds: source.targetSegmentSeconds,
      maxStep: source.maxStep
    })
    this.handedOutAtLastLoad = out
    this.lastLoadMs = now
    return this.step
  }

  takeSpare(n: number, out: Array<number>): void {
    if (this.spare.length > 0) out.push(...this.spare.splice(0, n))
  }

  giveBack(taken: ReadonlyArray<number>): void {
    if (taken.length > 0) this.spare = [...this.spare, ...taken].sort((a, b) => a - b)
  }

  settle(exit: Exit.Exit<void, LoadError>): void {
    const done = this.arrived
    this.arrived = undefined
    if (done !== undefined) Deferred.doneUnsafe(done, exit)
  }

  // The actor's fibers start after a yield: nothing of theirs runs inside the take that asked.
  forkAfterTake(effect: Effect.Effect<void>): Fiber.Fiber<void> {
    return this.fork(Effect.andThen(Effect.yieldNow, effect))
  }

  // Starts a load unless one is in flight or both slots are full.
  requestLoad(): void {
    if (this.loading !== undefined || this.stopped || this.buffer.hasNext) return
    this.loading = this.forkAfterTake(load(this))
  }

  install(segment: AllocatedSegment): Effect.Effect<void, LoadError> {
    const { buffer } = this
    buffer.setPreloadThreshold(this.source.preloadThreshold)
    const offered = buffer.offer(segment)
    this.loads++
    if (Result.isFailure(offered)) {
      // Storage handed out a range that is not above the previous one: never issue it.
      return Effect.fail(
        new Errors.SegmentAllocateFailed({
          message: offered.failure.message,
          details: { start: segment.start, end: segment.end }
        })
      )
    }
    this.installed += segment.end - segment.start + 1
    return Effect.void
  }

  loaded(exit: Exit.Exit<void, LoadError>): void {
    // A stopped actor's waiters were moved on by `stop`.
    if (this.stopped) return
    this.loading = undefined
    this.lastLoadError = Exit.isFailure(exit) ? Option.getOrUndefined(Exit.findErrorOption(exit)) : undefined
    // After a failure the next take past the threshold asks again.
    if (Exit.isFailure(exit)) this.buffer.rearmPreload()
    this.settle(exit)
  }

  // Tops the ring up from L2. A fill re-arms the ring: when L2 is dry, the next take below
  // the low watermark asks again (also after a failed load).
  fillRing(r: L1Ring.L1Ring): void {
    r.fill(this.buffer)
    if (this.buffer.remaining === 0) this.requestLoad()
  }

  // From inside a take that left the ring below its low watermark: the refill runs after it.
  ringBelowLow(): void {
    if (this.ringRefilling) return
    this.ringRefilling = true
    this.forkAfterTake(refillRing(this))
  }

  // A load still in flight after the whole timeout means storage is not answering (a
  // partition, a held row lock): 503, worth retrying. 1002 only when the last load itself
  // failed for a reason other than reachability.
  timedOut(): LoadError {
    const { lastLoadError } = this
    const { takeTimeoutMillis } = this.source
    const details = { timeout_ms: takeTimeoutMillis }
    return lastLoadError?._tag === "SegmentAllocateFailed"
      ? new Errors.SegmentAllocateFailed({
        message: `no segment within ${takeTimeoutMillis} ms: the last load failed (${lastLoadError.message})`,
        details
      })
      : new Errors.DatabaseUnavailable({ message: `no segment within ${takeTimeoutMillis} ms: storage did not answer`, details })
  }
}

/** The body of a load fiber: one segment from storage, installed; the fiber ends there. */
const load = (actor: Actor): Effect.Effect<void> =>
  Effect.suspend(() => actor.source.allocate(actor.nextStep())).pipe(
    Effect.flatMap((segment) => actor.install(segment)),
    Effect.exit,
    Effect.map((exit) => actor.loaded(exit))
  )

/** The body of a ring refill fiber. */
const refillRing = (actor: Actor): Effect.Effect<void> =>
  Effect.sync(() => {
    actor.ringRefilling = false
    if (actor.l1 !== undefined) actor.fillRing(actor.l1)
  })

const takeWaiting = Effect.fnUntraced(function*(actor: Actor, n: number) {
  actor.takeCalls++
  const out: Array<number> = []
  actor.takeSpare(n, out)
  if (out.length < n) actor.takeNow(n - out.length, out)
  let deadline = -1
  while (out.length < n) {
    if (actor.stopped) {
      out.push(...(yield* Effect.flatMap(actor.source.successor(), (next) => next.take(n - out.length))))
      return out
    }
    const now = actor.clock.currentTimeMillisUnsafe()
    if (deadline < 0) deadline = now + actor.source.takeTimeoutMillis
    actor.waits++
    actor.waiters++
    // Captured before yielding: the load that completes after this point settles it.
    const waitFor = (actor.arrived ??= Deferred.makeUnsafe<void, LoadError>())
    actor.requestLoad()
    const result = yield* Deferred.await(waitFor).pipe(
      Effect.timeoutOption(Math.max(0, deadline - now)),
      Effect.ensuring(Effect.sync(() => actor.waiters--)),
      // The range has nothing more: what this take holds are its last numbers.
      Effect.tapError((error) => error._tag === "SegmentExhausted" ? Effect.sync(() => actor.giveBack(out)) : Effect.void)
    )
    if (Option.isNone(result)) {
      actor.timeouts++
      return yield* Effect.fail(actor.timedOut())
    }
    actor.takeNow(n - out.length, out)
  }
  return out
})
