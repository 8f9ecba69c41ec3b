/**
 * One biz_tag's segment stream on this node: a double buffer fed by a single refill
 * fiber (the actor). Takes are synchronous while the buffer has numbers; the refill
 * fiber loads the next segment before the current one runs out, so under steady load
 * no request waits on the database. Only the refill fiber talks to storage, which makes
 * loading single-flight by construction.
 */
import { DoubleBuffer, DynamicStep, Errors } from "@idgen/core"
import { Clock, Deferred, Effect, Exit, Queue, Result } from "effect"
import type { AllocatedSegment } from "../storage/Records.ts"

export type LoadError = Errors.SegmentExhausted | Errors.DatabaseUnavailable | Errors.SegmentAllocateFailed

export interface ActorSettings {
  readonly baseStep: number
  readonly preloadThreshold: number
  readonly targetSegmentSeconds: number
  readonly maxStep: number
  /** CPU usage 0–1, read at each load. */
  readonly pressure: () => number
}

export interface SegmentActor {
  /** Fills `out` with up to `n` numbers without waiting; returns how many it took. */
  readonly takeNow: (n: number, out: Array<number>) => number
  /** One number, or -1 when the buffer is empty right now. */
  readonly takeOneNow: () => number
  /** Takes exactly `n` numbers, waiting for the refill fiber when the buffer runs dry. */
  readonly take: (n: number) => Effect.Effect<Array<number>, LoadError>
  /** Numbers left in the buffer. */
  readonly buffered: () => number
  /** The step the next allocation will ask for. */
  readonly currentStep: () => number
  /** Segments loaded, and takes that had to wait for one (0 after the first load means preloading keeps up). */
  readonly stats: () => { readonly loads: number; readonly waits: number }
  /** Numbers left in the current segment, and whether the next one is loaded (metrics). */
  readonly fill: () => { readonly currentRemaining: number; readonly consumedFraction: number; readonly nextLoaded: boolean }
}

/**
 * Builds the actor and its refill loop; the caller supervises the loop (one fiber per
 * biz_tag). `allocate` loads one segment of the given step.
 */
export const make = Effect.fnUntraced(function*(
  settings: ActorSettings,
  allocate: (step: number) => Effect.Effect<AllocatedSegment, LoadError>
) {
  const clock = yield* Clock.Clock
  const wake = yield* Queue.dropping<void>(1)
  let arrived = yield* Deferred.make<void, LoadError>()
  let step = settings.baseStep
  // Handed-out count = numbers installed - numbers left: no counter on the hot path.
  let installed = 0
  let handedOutAtLastLoad = 0
  let lastLoadMs = clock.currentTimeMillisUnsafe()
  let loads = 0
  let waits = 0

  const buffer = new DoubleBuffer.DoubleBuffer({
    preloadThreshold: settings.preloadThreshold,
    onPreloadNeeded: () => Queue.offerUnsafe(wake, undefined)
  })

  // Sizes the next segment from the rate observed since the previous load.
  const nextStep = () => {
    const handedOut = installed - buffer.remaining
    const now = clock.currentTimeMillisUnsafe()
    const seconds = Math.max((now - lastLoadMs) / 1000, 0.001)
    step = DynamicStep.nextStep({
      baseStep: settings.baseStep,
      currentStep: step,
      observedQps: (handedOut - handedOutAtLastLoad) / seconds,
      pressure: settings.pressure(),
      targetSeconds: settings.targetSegmentSeconds,
      maxStep: settings.maxStep
    })
    handedOutAtLastLoad = handedOut
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
    // After a failure the next take past the threshold asks again.
    if (Exit.isFailure(exit)) buffer.rearmPreload()
    settle(exit)
  })

  const takeNow = (n: number, out: Array<number>) => buffer.takeInto(n, out)
  const takeOneNow = () => buffer.take()

  const take = Effect.fnUntraced(function*(n: number) {
    const out: Array<number> = []
    takeNow(n, out)
    while (out.length < n) {
      waits++
      // Captured before yielding: a load that completes after this point settles it.
      const waitFor = arrived
      Queue.offerUnsafe(wake, undefined)
      yield* Deferred.await(waitFor)
      takeNow(n - out.length, out)
    }
    return out
  })

  const actor: SegmentActor = {
    takeNow,
    takeOneNow,
    take,
    buffered: () => buffer.remaining,
    currentStep: () => step,
    stats: () => ({ loads, waits }),
    fill: () => {
      const next = buffer.next
      return {
        currentRemaining: buffer.remaining - (next === undefined ? 0 : next.end - next.start + 1),
        consumedFraction: buffer.consumedFraction,
        nextLoaded: next !== undefined
      }
    }
  }
  return { actor, refillLoop: Effect.forever(refillOnce) }
})
