/**
 * Series whose value is read when `/metrics` is scraped rather than pushed on every change:
 * for values that already live in some state (a buffer's fill, a queue's length, the
 * process' memory), so the paths that change them pay nothing.
 */
import { type Context, Effect, Metric, type Scope } from "effect"

const noop = () => {}

/** Registers `gauge` as read from `get`; returns the removal. */
export const gaugeUnsafe = (gauge: Metric.Gauge<number>, context: Context.Context<never>, get: () => number) =>
  Metric.registerUnsafe(gauge, context, { get: () => ({ value: get() }), update: noop, modify: noop }).remove

/** Registers `counter` (a running total kept elsewhere) as read from `get`; returns the removal. */
export const counterUnsafe = (counter: Metric.Counter<number>, context: Context.Context<never>, get: () => number) =>
  Metric.registerUnsafe(counter, context, {
    get: () => ({ count: get(), incremental: true }),
    update: noop,
    modify: noop
  }).remove

/** `gauge` read from `get` for the lifetime of the scope. */
export const gauge = (gauge: Metric.Gauge<number>, get: () => number): Effect.Effect<void, never, Scope.Scope> =>
  Effect.flatMap(Effect.context<never>(), (context) => {
    const remove = gaugeUnsafe(gauge, context, get)
    return Effect.addFinalizer(() => Effect.sync(remove))
  })

/** `counter` read from `get` for the lifetime of the scope. */
export const counter = (counter: Metric.Counter<number>, get: () => number): Effect.Effect<void, never, Scope.Scope> =>
  Effect.flatMap(Effect.context<never>(), (context) => {
    const remove = counterUnsafe(counter, context, get)
    return Effect.addFinalizer(() => Effect.sync(remove))
  })
