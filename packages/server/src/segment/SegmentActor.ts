/**
 * One biz_tag's segment stream on this node: an optional L1 ring in front of a double
 * buffer (L2), fed by two fibers — the L2 refill fiber (the only one that talks to
 * storage, which makes loading single-flight by construction) and, once a ring is
 * attached, the ring refill fiber that tops the ring up from L2.
 *
 * Order: the ring is filled only from the head of L2, and L2 is taken from directly only
 * while the ring is empty, so every number in the ring is below every number in L2 and
 * takes stay increasing per node — never a number twice.
 *
 * Takes are synchronous while L1 or L2 has numbers. A take that finds both empty waits
 * for the L2 refill, at most `takeTimeoutMillis` (then IDGEN-SEG-1003 if the last load
 * failed for database reasons, else IDGEN-SEG-1002). A stopped actor (idle release)
 * still hands out what it holds; a take that would have to wait moves to `successor`.
 */
import { DoubleBuffer, DynamicStep, Errors, L1Ring } from "@idgen/core"
import { Clock, Deferred, Effect, Exit, Option, Queue, Result } from "effect"
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
  /** Takes exactly `n` numbers, waiting (bounded) for the refill when L1 and L2 run dry. */
  readonly take: (n: number) => Effect.Effect<Array<number>, LoadError>
  /** Numbers left in L1 and L2. */
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
  /** Marks the actor stopped: waits from now on go to `successor` (its fibers are interrupted by the owner). */
  readonly stop: () => void
}

/**
 * Builds the actor and its fibers' loop; the caller supervises the loop (one fiber per
 * biz_tag). `allocate` loads one segment of the given step; `successor` is the biz_tag's
 * actor after this one was stopped.
 */
export const make = Effect.fnUntraced(function*(
  settings: ActorSettings,
  allocate: (step: number) => Effect.Effect<AllocatedSegment, LoadError>,
  successor: () => Effect.Effect<SegmentActor>
) {
  const clock = yield* Clock.Clock
  const wake = yield* Queue.dropping<void>(1)
  const ringWake = yield* Queue.dropping<void>(1)
  let arrived = yield* Deferred.make<void, LoadError>()
  let step = settings.baseStep
  // Handed-out count = numbers installed - numbers left: no counter on the hot path.
  let installed = 0
  let handedOutAtLastLoad = 0
  let lastLoadMs = clock.currentTimeMillisUnsafe()
  let lastLoadError: LoadError | undefined
  let loads = 0
  let waits = 0
  let timeouts = 0
  let waiting = 0
  let takeCalls = 0
  let l2Fallbacks = 0
  let stopped = false
  let ring: L1Ring.L1Ring | undefined

  const buffer = new DoubleBuffer.DoubleBuffer({
    preloadThreshold: settings.preloadThreshold,
    onPreloadNeeded: () => Queue.offerUnsafe(wake, undefined)
  })

  const buffered = () => buffer.remaining + (ring === undefined ? 0 : ring.length)
  const handedOut = () => installed - buffered()

  // Sizes the next segment from the rate observed since the previous load.
  const nextStep = () => {
    const out = handedOut()
    const now = clock.currentTimeMillisUnsafe()
    const seconds = Math.max((now - lastLoadMs) / 1000, 0.001)
    step = DynamicStep.nextStep({
      baseStep: settings.baseStep,
      currentStep: step,
      observedQps: (out - handedOutAtLastLoad) / seconds,
      pressure: settings.pressure(),
      targetSeconds: settings.targetSegmentSeconds,
      maxStep: settings.maxStep
    })
    handedOutAtLastLoad = out
    lastLoadMs = now
    return step
  }

  const settle = (exit: Exit.Exit<void, LoadError>) => {
    const done = arrived
    arrived = Deferred.makeUnsafe<void, LoadError>()
    Deferred.doneUnsafe(done, exit)
  }

  const load = Effect.gen(function*() {
    const segment = yield* allocate(nextStep())
    buffer.setPreloadThreshold(settings.preloadThreshold)
    const offered = buffer.offer(segment)
    loads++
    if (Result.isFailure(offered)) {
      // Storage handed out a range that is not above the previous one: never issue it.
      return yield* new Errors.SegmentAllocateFailed({
        message: offered.failure.message,
        details: { start: segment.start, end: segment.end }
      })
    }
    installed += segment.end - segment.start + 1
  })

  const refillOnce = Effect.gen(function*() {
    yield* Queue.take(wake)
    // A wake that arrives while both slots are full has nothing to do.
    if (buffer.hasNext) return
    const exit = yield* Effect.exit(load)
    lastLoadError = Exit.isFailure(exit) ? Option.getOrUndefined(Exit.findErrorOption(exit)) : undefined
    // After a failure the next take past the threshold asks again.
    if (Exit.isFailure(exit)) buffer.rearmPreload()
    settle(exit)
  })

  // Tops the ring up from L2; when L2 is dry too, once more after its next load.
  const ringRefillOnce = Effect.gen(function*() {
    yield* Queue.take(ringWake)
    if (ring === undefined) return
    ring.fill(buffer)
    if (!ring.belowLow) return
    const waitFor = arrived
    Queue.offerUnsafe(wake, undefined)
    const exit = yield* Effect.exit(Deferred.await(waitFor))
    // After a failed load the ring stays armed: the next take asks again.
    if (Exit.isSuccess(exit)) ring.fill(buffer)
  })

  // A load still in flight after the whole timeout means storage is not answering (a
  // partition, a held row lock): 503, worth retrying. 1002 only when the last load itself
  // failed for a reason other than reachability.
  const timedOut = (): LoadError => {
    const details = { timeout_ms: settings.takeTimeoutMillis }
    return lastLoadError?._tag === "SegmentAllocateFailed"
      ? new Errors.SegmentAllocateFailed({
        message: `no segment within ${settings.takeTimeoutMillis} ms: the last load failed (${lastLoadError.message})`,
        details
      })
      : new Errors.DatabaseUnavailable({ message: `no segment within ${settings.takeTimeoutMillis} ms: storage did not answer`, details })
  }

  const take = Effect.fnUntraced(function*(n: number) {
    takeCalls++
    const out: Array<number> = []
    actor.takeNow(n, out)
    let deadline = -1
    while (out.length < n) {
      if (stopped) {
        out.push(...(yield* Effect.flatMap(successor(), (next) => next.take(n - out.length))))
        return out
      }
      const now = clock.currentTimeMillisUnsafe()
      if (deadline < 0) deadline = now + settings.takeTimeoutMillis
      waits++
      waiting++
      // Captured before yielding: a load that completes after this point settles it.
      const waitFor = arrived
      Queue.offerUnsafe(wake, undefined)
      const result = yield* Deferred.await(waitFor).pipe(
        Effect.timeoutOption(Math.max(0, deadline - now)),
        Effect.ensuring(Effect.sync(() => waiting--))
      )
      if (Option.isNone(result)) {
        timeouts++
        return yield* Effect.fail(timedOut())
      }
      actor.takeNow(n - out.length, out)
    }
    return out
  })

  // Without a ring the fast paths are L2's own; `attachRing` swaps in the ring-first ones.
  // A take that finds the ring empty takes from L2 (the ring's `whenEmpty`, off its fast path).
  const l2Fallback = () => {
    const v = buffer.take()
    if (v >= 0) l2Fallbacks++
    return v
  }
  const ringTakeInto = (n: number, out: Array<number>) => {
    const fromRing = ring!.takeInto(n, out)
    if (fromRing === n) return n
    const fromL2 = buffer.takeInto(n - fromRing, out)
    l2Fallbacks += fromL2
    return fromRing + fromL2
  }

  const actor: { -readonly [K in keyof SegmentActor]: SegmentActor[K] } = {
    takeNow: (n, out) => buffer.takeInto(n, out),
    takeOneNow: () => buffer.take(),
    take,
    buffered,
    currentStep: () => step,
    baseStep: () => settings.baseStep,
    preloadThreshold: () => buffer.preloadThreshold,
    stats: () => ({ loads, waits, timeouts, l1Hits: ring === undefined ? 0 : ring.takenTotal, l2Fallbacks }),
    fill: () => {
      const next = buffer.next
      return {
        currentRemaining: buffer.remaining - (next === undefined ? 0 : next.end - next.start + 1),
        consumedFraction: buffer.consumedFraction,
        nextLoaded: next !== undefined
      }
    },
    ring: () => (ring === undefined ? undefined : { length: ring.length, capacity: ring.capacity }),
    attachRing: (shape) => {
      if (ring !== undefined) return
      const r = new L1Ring.L1Ring({
        ...shape,
        onRefillNeeded: () => Queue.offerUnsafe(ringWake, undefined),
        whenEmpty: l2Fallback
      })
      ring = r
      // Closes over the constant `r`, not the reassignable `ring`: measurably faster per take.
      actor.takeOneNow = () => r.take()
      actor.takeNow = ringTakeInto
      Queue.offerUnsafe(ringWake, undefined)
    },
    activity: () => handedOut() + takeCalls,
    handedOut,
    waiting: () => waiting,
    stop: () => {
      stopped = true
    }
  }
  const refillLoop = Effect.all([Effect.forever(refillOnce), Effect.forever(ringRefillOnce)], {
    concurrency: 2,
    discard: true
  })
  return { actor: actor as SegmentActor, refillLoop }
})
