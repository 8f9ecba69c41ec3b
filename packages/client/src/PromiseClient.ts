/**
 * The client for code that does not use Effect: the same operations as `IdgenClient`, as
 * Promises that reject with the same typed errors (`instanceof Errors.Forbidden`, or
 * `error.code === "IDGEN-COMMON-0006"`; `AllServersUnavailable`, …), plus the synchronous
 * `takeSync`.
 *
 *   await using idgen = await IdgenPromiseClient.connect({ endpoints: ["http://127.0.0.1:8080"], apiKey })
 *   const id = await idgen.next("shop/orders/order-id")
 */
import type { Rpcs } from "@idgen/protocol"
import { Effect, ManagedRuntime } from "effect"
import type { AllServersUnavailable, NotNumericId } from "./ClientErrors.ts"
import { type ClientError, type ClientOptions, IdgenClient, type IdgenClientShape } from "./IdgenClient.ts"
import type { PrefetchStats } from "./Prefetch.ts"
import { settle } from "./Settle.ts"
import type { TagRef } from "./TagRef.ts"

export class IdgenPromiseClient {
  private readonly runtime: ManagedRuntime.ManagedRuntime<IdgenClient, never>
  private readonly client: IdgenClientShape

  private constructor(runtime: ManagedRuntime.ManagedRuntime<IdgenClient, never>, client: IdgenClientShape) {
    this.runtime = runtime
    this.client = client
  }

  /** Opens the connections; `close` releases them. */
  static async connect(options: ClientOptions): Promise<IdgenPromiseClient> {
    const runtime = ManagedRuntime.make(IdgenClient.layer(options))
    const client = await runtime.runPromise(Effect.service(IdgenClient))
    return new IdgenPromiseClient(runtime, client)
  }

  private run<A, E>(effect: Effect.Effect<A, E>): Promise<A> {
    return this.runtime.runPromiseExit(effect).then(settle)
  }

  /** A prefetched ID (see `IdgenClient.next`). Rejects with `ClientError`. */
  next(tag: TagRef): Promise<string> {
    const id = this.client.takeSync(tag)
    return id !== undefined ? Promise.resolve(id) : this.run(this.client.next(tag))
  }

  /** A prefetched numeric ID as bigint. Rejects with `ClientError | NotNumericId`. */
  nextBigInt(tag: TagRef): Promise<bigint> {
    return this.run<bigint, ClientError | NotNumericId>(this.client.nextBigInt(tag))
  }

  /** A prefetched ID, synchronously; undefined while the local stock is empty. */
  takeSync(tag: TagRef): string | undefined {
    return this.client.takeSync(tag)
  }

  /** `takeSync` bound to one biz_tag (the tag is resolved once): the fastest way to take in a loop. */
  taker(tag: TagRef): () => string | undefined {
    return this.client.taker(tag)
  }

  /** Fills the biz_tag's local stock. */
  warm(tag: TagRef): Promise<void> {
    return this.run(this.client.warm(tag))
  }

  generate(tag: TagRef): Promise<Rpcs.GenerateResult> {
    return this.run(this.client.generate(tag))
  }

  batch(tag: TagRef, size: number): Promise<Rpcs.BatchGenerateResult> {
    return this.run(this.client.batch(tag, size))
  }

  parse(id: string, tag?: TagRef): Promise<Rpcs.IdInfo> {
    return this.run(this.client.parse(id, tag))
  }

  health(): Promise<Rpcs.HealthReport> {
    return this.run<Rpcs.HealthReport, AllServersUnavailable>(this.client.health)
  }

  prefetchStats(tag: TagRef): PrefetchStats {
    return this.client.prefetchStats(tag)
  }

  close(): Promise<void> {
    return this.runtime.dispose()
  }

  /** `await using idgen = await IdgenPromiseClient.connect(…)` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }
}
