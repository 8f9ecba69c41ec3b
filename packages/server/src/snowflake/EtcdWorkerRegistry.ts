/**
 * Worker ids in etcd: the key layout and the few transactions the
 * worker-id lifecycle needs, on the `etcd3` client. No policy lives here — when to claim,
 * retry, fence or release is `EtcdWorkerIdentity`'s business.
 *
 * ```
 * {prefix}/workers/{dc}/{id}           claim, attached to the holder's lease (gone when it expires)
 * {prefix}/workers/{dc}/{id}/ceiling   reserved timestamp ceiling, no lease (outlives holders)
 * ```
 *
 * Every write that concerns a claimed id is a transaction guarded by "the claim is still
 * attached to my lease", so a holder whose lease expired (and whose id someone else
 * took) can never move the ceiling or delete the new holder's claim.
 */
import { Errors, Snowflake } from "@idgen/core"
import { Context, Effect, Layer, Option, Schema, type Scope } from "effect"
import type { Etcd3, EtcdLeaseInvalidError, Lease } from "etcd3"
import { ServerConfig } from "../config/ServerConfig.ts"
import * as TimestampCeiling from "./TimestampCeiling.ts"

/** etcd did not answer (in time) or refused; the operation may be retried. */
export class EtcdUnavailable extends Schema.TaggedError<EtcdUnavailable>()("EtcdUnavailable", {
  message: Schema.String,
  cause: Schema.Defect()
}) {}

/** The lease is gone on the etcd side (expired or revoked): everything attached to it is. */
export class LeaseExpired extends Schema.TaggedError<LeaseExpired>()("LeaseExpired", {
  message: Schema.String
}) {}

/** The claim key is no longer attached to our lease. */
export class ClaimLost extends Schema.TaggedError<ClaimLost>()("ClaimLost", {
  message: Schema.String,
  workerId: Schema.Int
}) {}

/** Worker ids of one datacenter, as many as the layout has room for. */
export const WORKER_IDS = Snowflake.MAX_WORKER_ID + 1

/** The value of a claim key: who holds it, under which lease. */
const ClaimValue = Schema.Struct({ holder: Schema.String, lease: Schema.String })
const encodeClaim = (value: typeof ClaimValue.Type) => JSON.stringify(value)
const decodeClaim = (text: string) => Schema.decodeUnknownOption(Schema.fromJsonString(ClaimValue))(text).pipe(Option.getOrUndefined)

/** A granted lease. `id` is etcd's int64 lease id as a decimal string. */
export interface WorkerLease {
  readonly id: string
  readonly lease: Lease
}

/** A claimed worker id and the ceiling its previous holders recorded (-1: never used). */
export interface Claim {
  readonly workerId: number
  readonly afterMs: number
  /** The etcd revision that wrote that ceiling (compare with what `reserve` yielded). */
  readonly ceilingRevision: string | undefined
}

export interface EtcdWorkerRegistryShape {
  readonly datacenterId: number
  readonly grantLease: (ttlSeconds: number) => Effect.Effect<WorkerLease, EtcdUnavailable>
  /** One keep-alive; yields the TTL (seconds) etcd restarted the lease with. */
  readonly keepAlive: (lease: WorkerLease) => Effect.Effect<number, EtcdUnavailable | LeaseExpired>
  /**
   * Claims the lowest free id with a create-if-absent transaction that also reads the id's
   * ceiling. NoAvailableWorkerId when all 256 ids of the datacenter are held.
   */
  readonly claimFirstFree: (
    lease: WorkerLease,
    holder: string
  ) => Effect.Effect<Claim, EtcdUnavailable | Errors.NoAvailableWorkerId>
  /**
   * Records `ceilingMs` as the id's ceiling, while the claim is still ours; yields the
   * etcd revision of the write.
   */
  readonly reserve: (
    lease: WorkerLease,
    workerId: number,
    ceilingMs: number
  ) => Effect.Effect<string, EtcdUnavailable | ClaimLost>
  /**
   * Ends a lease: for a claimed id, records the final ceiling (when given) and deletes the
   * claim, both only while the claim is still ours; then revokes the lease.
   */
  readonly release: (
    lease: WorkerLease,
    claimed?: { readonly workerId: number; readonly finalCeilingMs: number | undefined }
  ) => Effect.Effect<void, EtcdUnavailable>
  /** What etcd holds about one id, for operators and tests. */
  readonly inspect: (workerId: number) => Effect.Effect<WorkerRecord, EtcdUnavailable>
}

/** A worker id as stored: its claim (when held) and its ceiling (when ever recorded). */
export interface WorkerRecord {
  readonly holder: string | undefined
  readonly leaseId: string | undefined
  readonly ceilingMs: number | undefined
}

export class EtcdWorkerRegistry extends Context.Service<EtcdWorkerRegistry, EtcdWorkerRegistryShape>()(
  "@idgen/server/snowflake/EtcdWorkerRegistry"
) {
  /** A registry on its own client to `etcd.endpoints`, closed with the scope. */
  static readonly make: Effect.Effect<EtcdWorkerRegistryShape, never, ServerConfig | Scope.Scope> = Effect.gen(
    function*() {
      const config = yield* ServerConfig
      const timeout = config.etcd.requestTimeoutMillis
      // Loaded on demand: the gRPC stack costs a static-id node a quarter second at start.
      const etcd3 = yield* Effect.promise(() => import("etcd3"))
      const client = yield* Effect.acquireRelease(
        Effect.sync(() =>
          new etcd3.Etcd3({
            hosts: [...config.etcd.endpoints],
            dialTimeout: timeout,
            // Every unary call gets a deadline: a request to a partitioned member must fail
            // in time for the fencing decisions that depend on it.
            defaultCallOptions: (call) => (call.isStream ? {} : { deadline: Date.now() + timeout })
          })
        ),
        (etcd) => Effect.sync(() => etcd.close())
      )
      return makeOn(client, etcd3.EtcdLeaseInvalidError, {
        prefix: config.etcd.prefix,
        datacenterId: config.node.datacenterId,
        requestTimeoutMillis: timeout
      })
    }
  )

  static readonly layer = Layer.effect(EtcdWorkerRegistry, EtcdWorkerRegistry.make)
}

const makeOn = (
  client: Etcd3,
  LeaseInvalid: typeof EtcdLeaseInvalidError,
  options: { readonly prefix: string; readonly datacenterId: number; readonly requestTimeoutMillis: number }
): EtcdWorkerRegistryShape => {
  const { datacenterId, requestTimeoutMillis } = options
  const workersPrefix = `${options.prefix}/workers/${datacenterId}/`
  const claimKey = (workerId: number) => `${workersPrefix}${workerId}`
  const ceilingKey = (workerId: number) => `${claimKey(workerId)}/ceiling`
  const claimPattern = /^(\d{1,3})$/

  /** A promise-returning etcd call, bounded even if the client's own deadline misfires. */
  const call = <A>(what: string, f: () => Promise<A>): Effect.Effect<A, EtcdUnavailable> =>
    Effect.tryPromise({
      try: f,
      catch: (cause) => new EtcdUnavailable({ message: `etcd ${what}: ${String(cause)}`, cause })
    }).pipe(
      Effect.timeoutOrElse({
        duration: requestTimeoutMillis * 2,
        orElse: () =>
          Effect.fail(new EtcdUnavailable({ message: `etcd ${what}: no answer within ${requestTimeoutMillis * 2} ms`, cause: undefined }))
      })
    )

  const deadline = () => ({ deadline: Date.now() + requestTimeoutMillis })

  const grantLease = (ttlSeconds: number) =>
    call("lease grant", async () => {
      const lease = client.lease(ttlSeconds, { autoKeepAlive: false, ...deadline() })
      return { id: await lease.grant(), lease }
    })

  const keepAlive = (held: WorkerLease) =>
    call("keep-alive", () => held.lease.keepaliveOnce(deadline())).pipe(
      Effect.catchIf(
        (error) => error.cause instanceof LeaseInvalid,
        () => Effect.fail(new LeaseExpired({ message: `lease ${held.id} expired or was revoked` }))
      ),
      Effect.flatMap((response) => {
        const ttl = Number(response.TTL)
        return ttl > 0
          ? Effect.succeed(ttl)
          : Effect.fail(new LeaseExpired({ message: `lease ${held.id} expired or was revoked` }))
      })
    )

  /** Ids with a claim key right now. */
  const claimed = call("list workers", () => client.getAll().prefix(workersPrefix).keys()).pipe(
    Effect.map((keys) => {
      const ids = new Set<number>()
      for (const key of keys) {
        const match = claimPattern.exec(key.slice(workersPrefix.length))
        if (match) ids.add(Number(match[1]))
      }
      return ids
    })
  )

  /** Create-if-absent; on success also reads the ceiling. undefined when someone holds the id. */
  const tryClaim = (held: WorkerLease, workerId: number, holder: string) =>
    call(`claim worker ${workerId}`, () =>
      client
        .if(claimKey(workerId), "Create", "==", 0)
        .then(
          held.lease.put(claimKey(workerId)).value(encodeClaim({ holder, lease: held.id })),
          client.get(ceilingKey(workerId))
        )
        .commit()).pipe(
        Effect.map((response) => {
          if (!response.succeeded) return undefined
          const ceiling = response.responses[1]?.response_range?.kvs?.[0]
          return { stored: ceiling?.value.toString(), revision: ceiling?.mod_revision }
        })
      )

  /** Deletes the claim (recording a final ceiling) only while it is still ours. */
  const dropClaim = (held: WorkerLease, workerId: number, finalCeilingMs: number | undefined) =>
    call(`release worker ${workerId}`, () =>
      client
        .if(claimKey(workerId), "Lease", "==", held.id)
        .then(
          ...(finalCeilingMs === undefined
            ? []
            : [client.put(ceilingKey(workerId)).value(TimestampCeiling.encode(finalCeilingMs))]),
          client.delete().key(claimKey(workerId))
        )
        .commit())

  const claimFirstFree = Effect.fnUntraced(function*(held: WorkerLease, holder: string) {
    const taken = yield* claimed
    for (let workerId = 0; workerId < WORKER_IDS; workerId++) {
      if (taken.has(workerId)) continue
      const won = yield* tryClaim(held, workerId, holder)
      if (won === undefined) continue // someone was faster
      if (won.stored === undefined) return { workerId, afterMs: -1, ceilingRevision: undefined }
      const afterMs = TimestampCeiling.decode(won.stored)
      if (afterMs !== undefined) return { workerId, afterMs, ceilingRevision: won.revision }
      // Nobody can say what was issued with this id: leave it alone.
      yield* Effect.logError(`worker ${workerId}: unreadable ceiling ${JSON.stringify(won.stored)}; skipping the id`)
      yield* dropClaim(held, workerId, undefined)
    }
    return yield* new Errors.NoAvailableWorkerId({
      message: `all ${WORKER_IDS} worker ids of datacenter ${datacenterId} are held`,
      details: { datacenter_id: datacenterId }
    })
  })

  const reserve = (held: WorkerLease, workerId: number, ceilingMs: number) =>
    call(`reserve ceiling of worker ${workerId}`, () =>
      client
        .if(claimKey(workerId), "Lease", "==", held.id)
        .then(client.put(ceilingKey(workerId)).value(TimestampCeiling.encode(ceilingMs)))
        .commit()).pipe(
        Effect.flatMap((response) =>
          response.succeeded
            ? Effect.succeed(response.header.revision)
            : Effect.fail(new ClaimLost({ message: `worker ${workerId} is no longer held by lease ${held.id}`, workerId }))
        )
      )

  const release = (
    held: WorkerLease,
    claimed?: { readonly workerId: number; readonly finalCeilingMs: number | undefined }
  ) =>
    Effect.andThen(
      claimed === undefined ? Effect.void : dropClaim(held, claimed.workerId, claimed.finalCeilingMs),
      call("lease revoke", () => held.lease.revoke(deadline()))
    )

  const inspect = (workerId: number) =>
    call(`read worker ${workerId}`, () =>
      Promise.all([client.get(claimKey(workerId)).string(), client.get(ceilingKey(workerId)).string()])).pipe(
        Effect.map(([claim, ceiling]): WorkerRecord => {
          const parsed = claim === null ? undefined : decodeClaim(claim)
          return {
            holder: parsed?.holder,
            leaseId: parsed?.lease,
            ceilingMs: ceiling === null ? undefined : TimestampCeiling.decode(ceiling)
          }
        })
      )

  return {
    datacenterId,
    grantLease,
    keepAlive,
    claimFirstFree,
    reserve,
    release,
    inspect
  }
}
