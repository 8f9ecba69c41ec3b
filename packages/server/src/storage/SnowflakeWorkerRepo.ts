/**
 * Static snowflake worker ids in the node's own storage (migration 0004): per (datacenter,
 * worker), who holds the id (kept alive by heartbeats, in database time) and the timestamp
 * ceiling reserved for it. Every write on a held id is guarded by "the holder is still
 * me", so a holder that was taken over can never move the ceiling or release the new
 * holder's row. When to acquire, renew or give up is `StorageWorkerIdentity`'s business.
 */
import type { Errors } from "@idgen/core"
import { Context, type Effect } from "effect"

export interface WorkerSlot {
  readonly datacenterId: number
  readonly workerId: number
}

export interface AcquireInput extends WorkerSlot {
  /** This process: node name plus a random instance token. */
  readonly holder: string
  /** Another holder whose heartbeat is older than this (database time) may be replaced. */
  readonly staleAfterMs: number
  /** Replace any other holder: the caller knows it is gone (the embedded store's lock). */
  readonly replaceAny: boolean
  /** Replace this holder, however fresh its heartbeat: the caller knows it is gone. */
  readonly replaceHolder: string | undefined
}

export type Acquired = {
  readonly _tag: "Acquired"
  /** The highest timestamp the id's previous holders may have issued with (-1: none). */
  readonly ceilingMs: number
  /** The holder replaced (stale, or gone), if any. */
  readonly replaced: { readonly holder: string; readonly heartbeatAgeMs: number } | undefined
}

export type HeldByOther = {
  readonly _tag: "HeldByOther"
  readonly holder: string
  readonly heartbeatAgeMs: number
}

export class SnowflakeWorkerRepo extends Context.Service<SnowflakeWorkerRepo, {
  /** Takes the id when it is free, its holder stale (or `replaceAny`); reads its ceiling. */
  acquire(input: AcquireInput): Effect.Effect<Acquired | HeldByOther, Errors.DatabaseUnavailable>
  /**
   * Heartbeat, raising the ceiling to `ceilingMs` if it is below, while `holder` still
   * holds the id: the stored ceiling afterwards, or undefined when the id is no longer ours.
   */
  renew(slot: WorkerSlot, holder: string, ceilingMs: number): Effect.Effect<number | undefined, Errors.DatabaseUnavailable>
  /**
   * Gives the id up while `holder` still holds it, recording `finalCeilingMs` (the highest
   * timestamp issued) when given; false when it was no longer ours.
   */
  release(slot: WorkerSlot, holder: string, finalCeilingMs: number | undefined): Effect.Effect<boolean, Errors.DatabaseUnavailable>
}>()("@idgen/server/storage/SnowflakeWorkerRepo") {}
