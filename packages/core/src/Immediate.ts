/**
 * The one convention of the synchronous fast paths. A method returning an Effect does
 * nothing until the Effect runs. Its synchronous twin is named `…Unsafe`: it does the work
 * at the call and answers with an `Immediate` — the value, the error, or, only when it
 * cannot decide without waiting (a lookup, a lease, a refill), the Effect that decides, to
 * be run once. The Effect form is `Effect.suspend` of the synchronous one (`toEffect`).
 *
 * Values are told apart by what they are: an error is an `Error`, the deciding Effect is
 * an Effect; so a value type must be neither.
 */
import { Effect } from "effect"

export type Immediate<A, E extends Error> = A | E | Effect.Effect<A, E>

/** The error decided now. */
export const isError = <A, E extends Error>(self: Immediate<A, E>): self is E => self instanceof Error

/** The Effect that decides (checked after `isError`: errors are yieldable, i.e. Effects too). */
export const isPending = <A, E extends Error>(self: Immediate<A, E>): self is Effect.Effect<A, E> =>
  !(self instanceof Error) && Effect.isEffect(self)

/** The value decided now. */
export const isValue = <A, E extends Error>(self: Immediate<A, E>): self is A =>
  !(self instanceof Error) && !Effect.isEffect(self)

export const toEffect = <A, E extends Error>(self: Immediate<A, E>): Effect.Effect<A, E> =>
  isError(self) ? Effect.fail(self) : isPending(self) ? self : Effect.succeed(self as A)

/** `f` on the value, now when it is decided, else once the Effect decides it. */
export const flatMap = <A, E extends Error, B, E2 extends Error>(
  self: Immediate<A, E>,
  f: (a: A) => Immediate<B, E2>
): Immediate<B, E | E2> => {
  if (isError(self)) return self
  if (isPending(self)) return Effect.flatMap(self, (a) => toEffect(f(a)))
  return f(self as A)
}

export const map = <A, E extends Error, B>(self: Immediate<A, E>, f: (a: A) => B): Immediate<B, E> => {
  if (isError(self)) return self
  if (isPending(self)) return Effect.map(self, f)
  return f(self as A)
}

/** The Effect form of a synchronous method: does nothing until run. */
export const lazy = <Args extends ReadonlyArray<unknown>, A, E extends Error>(
  unsafe: (...args: Args) => Immediate<A, E>
) =>
(...args: Args): Effect.Effect<A, E> => Effect.suspend(() => toEffect(unsafe(...args)))
