/**
 * One lookup at a time per key, for the request path's caches (verified API keys, biz_tags):
 * callers that miss a key while its lookup runs share that lookup instead of each asking the
 * database. Otherwise the first burst on a key, or every request in flight when its entry
 * expired, would send as many queries — on the embedded store's single connection, tens to
 * hundreds of ms at the tail.
 *
 * Effect's `Cache` with a lifetime of zero: it holds a lookup only while it runs. Its answer,
 * value or failure, goes to the callers waiting then and to no later one: the next miss looks
 * again. A caller that goes away (interrupted) leaves the lookup to the others; only when all
 * of them are gone is it interrupted. The values themselves, their lifetimes and refresh-ahead
 * stay with each cache, in a map its fast path reads synchronously.
 */
import { Cache, Duration, type Effect, MutableHashMap } from "effect"

export type SingleFlight<K, A, E> = Cache.Cache<K, A, E>

/** Shares `lookup` per key (compared with `Equal`, so a string or a plain value). */
export const make = <K, A, E, R>(
  lookup: (key: K) => Effect.Effect<A, E, R>
): Effect.Effect<SingleFlight<K, A, E>, never, R> =>
  Cache.make({ lookup, capacity: Number.POSITIVE_INFINITY, timeToLive: Duration.zero })

/** The lookup of `key`: the one running, or a new one. */
export const run = <K, A, E>(flights: SingleFlight<K, A, E>, key: K): Effect.Effect<A, E> => Cache.get(flights, key)

/** Whether a lookup of `key` runs now (a finished one is gone at once: lifetime zero). */
export const running = <K, A, E>(flights: SingleFlight<K, A, E>, key: K): boolean => MutableHashMap.has(flights.map, key)

/**
 * Later callers of `key` start a new lookup; the running one still answers its own callers.
 * For a change committed while it ran: it may have read the record before.
 */
export const forget = <K, A, E>(flights: SingleFlight<K, A, E>, key: K): void => {
  MutableHashMap.remove(flights.map, key)
}
