/**
 * The typed Effect client of idgen: the four RPCs of `IdRpcs` with failover over several
 * servers (`Endpoints`), and prefetched IDs per biz_tag (`Prefetch`) so that `takeSync` /
 * `next` are local takes.
 *
 *   const program = Effect.gen(function*() {
 *     const idgen = yield* IdgenClient
 *     const id = yield* idgen.next("shop/orders/order-id")
 *   }).pipe(Effect.provide(IdgenClient.layer({ endpoints: ["http://127.0.0.1:8080"], apiKey })))
 *
 * IDs are strings (numeric ones are decimal text: 64-bit values exceed 2^53); `nextBigInt`
 * gives numeric IDs as bigint.
 */
import { Errors } from "@idgen/core"
import type { Rpcs } from "@idgen/protocol"
import { Cause, Context, Duration, Effect, Exit, Layer } from "effect"
import { AllServersUnavailable, NotNumericId } from "./ClientErrors.ts"
import * as Endpoints from "./Endpoints.ts"
import { PrefetchBuffer, type PrefetchOptions, prefetchOptions, type PrefetchStats } from "./Prefetch.ts"
import { keyOf, type Sequence, sequenceOf, type TagRef } from "./TagRef.ts"

export interface ClientOptions {
  /** Server base URLs, in order of preference, e.g. `["http://10.0.0.1:8080", "http://10.0.0.2:8080"]`. */
  readonly endpoints: ReadonlyArray<string>
  /** `idgen_<workspace>_<32 hex>`. */
  readonly apiKey: string
  /** Bound of one call, failover included (default 5 s). */
  readonly timeout?: Duration.Input | undefined
  /** Bound of one attempt on one server (default: the smaller of 2 s and `timeout`). */
  readonly attemptTimeout?: Duration.Input | undefined
  /** How often servers marked down are probed (default 1 s). */
  readonly healthInterval?: Duration.Input | undefined
  /** `websocket` (default; HTTP when only HTTP answers) or `http`. */
  readonly transport?: "websocket" | "http" | undefined
  /** Prefetch watermarks and batch size, for every biz_tag (see `Prefetch.ts`). */
  readonly prefetch?: Partial<PrefetchOptions> | undefined
}

export type ClientError = Errors.IdgenError | AllServersUnavailable

export interface IdgenClientShape {
  /** One ID straight from a server (no prefetch). */
  generate(tag: TagRef): Effect.Effect<Rpcs.GenerateResult, ClientError>
  /** `size` IDs straight from a server (1..10000). */
  batch(tag: TagRef, size: number): Effect.Effect<Rpcs.BatchGenerateResult, ClientError>
  /** What an ID encodes; the biz_tag gives the context segment and formatted IDs need. */
  parse(id: string, tag?: TagRef): Effect.Effect<Rpcs.IdInfo, ClientError>
  /** The health report of the first server that answers. */
  readonly health: Effect.Effect<Rpcs.HealthReport, AllServersUnavailable>
  /** A prefetched ID: immediate while the local stock lasts, else after the refill arrives. */
  next(tag: TagRef): Effect.Effect<string, ClientError>
  /** A prefetched numeric ID as bigint. */
  nextBigInt(tag: TagRef): Effect.Effect<bigint, ClientError | NotNumericId>
  /**
   * A prefetched ID, synchronously; undefined when the local stock is empty (a refill is
   * then on its way). Throws `InvalidRequest` for a malformed tag path.
   */
  takeSync(tag: TagRef): string | undefined
  /**
   * `takeSync` bound to one biz_tag: the tag is resolved once, so a loop pays only for the
   * take itself. Throws `InvalidRequest` for a malformed tag path.
   */
  taker(tag: TagRef): () => string | undefined
  /**
   * Starts filling the biz_tag's stock up to its high watermark and succeeds once the first
   * IDs are in (the rest of the fill goes on in the background); fails as the first refill does.
   */
  warm(tag: TagRef): Effect.Effect<void, ClientError>
  /** Prefetch counters of a biz_tag (zeros before its first use). */
  prefetchStats(tag: TagRef): PrefetchStats
  /** The servers and whether each is considered up. */
  readonly endpoints: Endpoints.Endpoints["status"]
}

export class IdgenClient extends Context.Service<IdgenClient, IdgenClientShape>()("@idgen/client/IdgenClient") {
  /** A client for the lifetime of the layer (connections close with it). */
  static readonly layer = (options: ClientOptions): Layer.Layer<IdgenClient> => Layer.effect(IdgenClient, make(options))
}

const emptyStats: PrefetchStats = { buffered: 0, requested: 0, refills: 0, failedRefills: 0, dryTakes: 0 }

export const make = Effect.fnUntraced(function*(options: ClientOptions) {
  const timeout = Duration.fromInputUnsafe(options.timeout ?? "5 seconds")
  const endpoints = yield* Endpoints.make({
    endpoints: options.endpoints,
    apiKey: options.apiKey,
    timeout,
    attemptTimeout: Duration.fromInputUnsafe(options.attemptTimeout ?? Duration.min(timeout, Duration.seconds(2))),
    healthInterval: Duration.fromInputUnsafe(options.healthInterval ?? "1 second"),
    transport: options.transport ?? "websocket"
  })
  const prefetch = prefetchOptions(options.prefetch)
  const run = Effect.runCallbackWith(yield* Effect.context<never>())

  const withSequence = <A, E>(tag: TagRef, f: (sequence: Sequence) => Effect.Effect<A, E>) => {
    const sequence = sequenceOf(tag)
    return sequence instanceof Errors.InvalidRequest ? Effect.fail(sequence) : f(sequence)
  }

  const batchOf = (sequence: Sequence, size: number) =>
    endpoints.call((client, headers) => client.BatchGenerate({ ...sequence, size }, { headers }))

  const buffers = new Map<string, PrefetchBuffer<ClientError>>()

  const bufferOf = (sequence: Sequence): PrefetchBuffer<ClientError> => {
    const key = keyOf(sequence)
    let buffer = buffers.get(key)
    if (buffer === undefined) {
      buffer = new PrefetchBuffer<ClientError>(prefetch, (size, done) => {
        run(batchOf(sequence, size), {
          onExit: (exit) => {
            if (Exit.isSuccess(exit)) return done(exit.value.ids)
            const failure = Cause.findErrorOption(exit.cause)
            done(undefined, failure._tag === "Some" ? failure.value : unexpected(Cause.squash(exit.cause)))
          }
        })
      })
      buffers.set(key, buffer)
    }
    return buffer
  }

  /** Buffers by the caller's own tag string too: `takeSync` is the hot path, no parsing there. */
  const byPath = new Map<string, PrefetchBuffer<ClientError>>()

  const bufferFor = (tag: TagRef): PrefetchBuffer<ClientError> => {
    if (typeof tag === "string") {
      const known = byPath.get(tag)
      if (known !== undefined) return known
    }
    const sequence = sequenceOf(tag)
    if (sequence instanceof Errors.InvalidRequest) throw sequence
    const buffer = bufferOf(sequence)
    if (typeof tag === "string") byPath.set(tag, buffer)
    return buffer
  }

  const next = (tag: TagRef): Effect.Effect<string, ClientError> => {
    let buffer: PrefetchBuffer<ClientError>
    try {
      buffer = bufferFor(tag)
    } catch (error) {
      return Effect.fail(error as Errors.InvalidRequest)
    }
    const id = buffer.take()
    if (id !== undefined) return Effect.succeed(id)
    return Effect.callback<string, ClientError>((resume) => {
      const cancel = buffer.wait((id, error) => resume(id !== undefined ? Effect.succeed(id) : Effect.fail(error!)))
      return Effect.sync(cancel)
    })
  }

  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      const closed = new AllServersUnavailable({ message: "The idgen client was closed", endpoints: options.endpoints, attempts: [] })
      for (const buffer of buffers.values()) buffer.close(closed)
    })
  )

  return IdgenClient.of({
    generate: (tag) =>
      withSequence(tag, (sequence) => endpoints.call((client, headers) => client.Generate(sequence, { headers }))),
    batch: (tag, size) => withSequence(tag, (sequence) => batchOf(sequence, size)),
    parse: (id, tag) => {
      if (tag === undefined) return endpoints.call((client, headers) => client.Parse({ id }, { headers }))
      return withSequence(tag, (sequence) => endpoints.call((client, headers) => client.Parse({ id, ...sequence }, { headers })))
    },
    health: endpoints.call((client) => client.HealthCheck()) as Effect.Effect<Rpcs.HealthReport, AllServersUnavailable>,
    next,
    nextBigInt: (tag) =>
      Effect.flatMap(next(tag), (id) =>
        decimal.test(id)
          ? Effect.succeed(BigInt(id))
          : Effect.fail(new NotNumericId({ message: `${id} is not a decimal ID`, id }))),
    takeSync: (tag) => bufferFor(tag).take(),
    taker: (tag) => {
      const buffer = bufferFor(tag)
      return () => buffer.take()
    },
    warm: (tag) =>
      withSequence(tag, (sequence) =>
        Effect.callback<void, ClientError>((resume) => {
          const buffer = bufferOf(sequence)
          buffer.refill()
          // The stock is warm once a take succeeds without waiting beyond the refill.
          const cancel = buffer.wait((id, error) => {
            if (id === undefined) return resume(Effect.fail(error!))
            buffer.putBack(id)
            resume(Effect.void)
          })
          return Effect.sync(cancel)
        })),
    prefetchStats: (tag) => {
      const sequence = sequenceOf(tag)
      if (sequence instanceof Errors.InvalidRequest) return emptyStats
      return buffers.get(keyOf(sequence))?.stats() ?? emptyStats
    },
    endpoints: endpoints.status
  })
})

const decimal = /^[0-9]+$/

const unexpected = (cause: unknown) =>
  new Errors.InternalError({ message: `idgen client: unexpected failure: ${String(cause)}`, details: {} })
